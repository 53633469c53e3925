// Run by hostile-big-message.test.ts in a fresh process (node --expose-gc): a sink and a raw client
// in one process stream one very large message per scenario, while this samples the process's
// memory. The test process stays clean, and the figures are this process's alone.
//
// argv[2]: JSON { size, scenarios: [{ name, via: 'DATA' | 'BDAT', options }] }
// stdout: one JSON line per scenario { name, reply, stats, baseline, peak, seconds }
import { once } from 'node:events';
import { connect } from 'node:net';
import { startSink } from '@mailhole/core';

const { size, scenarios } = JSON.parse(process.argv[2]);

/** One MiB of message text in lines of 1000 octets (CRLF included): the default maxDataLineLength. */
function block() {
  const line = `${'x'.repeat(998)}\r\n`;
  const full = Math.floor((1024 * 1024) / line.length);
  const rest = 1024 * 1024 - full * line.length;
  return Buffer.from(`${line.repeat(full)}${'y'.repeat(rest - 2)}\r\n`, 'latin1');
}

function memory() {
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}

async function run({ name, via, options }) {
  const sink = await startSink(options);
  const socket = connect({ host: sink.host, port: sink.port });
  socket.setNoDelay(true);
  let text = '';
  let wake = () => {};
  socket.setEncoding('latin1');
  socket.on('data', (chunk) => {
    text += chunk;
    wake();
  });
  const reply = async (pattern) => {
    while (!pattern.test(text)) await new Promise((resolve) => (wake = resolve));
    const line = pattern.exec(text)[0];
    text = '';
    return line;
  };
  await reply(/^220 .*\r\n/m);
  socket.write('EHLO client.test\r\nMAIL FROM:<big@client.test>\r\nRCPT TO:<big@sink.test>\r\n');
  await reply(/^250 2\.1\.5 .*\r\n/m);

  global.gc();
  const baseline = memory();
  const peak = { ...baseline };
  const sample = () => {
    const now = memory();
    for (const key of Object.keys(peak)) peak[key] = Math.max(peak[key], now[key]);
  };
  const sampler = setInterval(sample, 20);
  const started = process.hrtime.bigint();

  if (via === 'DATA') {
    socket.write('DATA\r\n');
    await reply(/^354 .*\r\n/m);
  } else {
    socket.write(`BDAT ${size} LAST\r\n`);
  }
  const chunk = block();
  for (let sent = 0; sent < size; sent += chunk.length) {
    const piece = size - sent >= chunk.length ? chunk : chunk.subarray(0, size - sent);
    if (!socket.write(piece)) await once(socket, 'drain');
    sample();
  }
  if (via === 'DATA') socket.write('.\r\n');
  const final = await reply(/^\d{3} .*\r\n/m);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  sample();
  socket.end('QUIT\r\n');
  const stats = sink.stats();
  await sink.close();
  return { name, reply: final.trim(), stats, baseline, peak, seconds };
}

for (const scenario of scenarios) {
  process.stdout.write(`${JSON.stringify(await run(scenario))}\n`);
}
