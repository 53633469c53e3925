#!/usr/bin/env node
// The figures of issue #13 ("hold under hostile input"), measured against a sink in its own process:
//
//   flood    one session sends MAIL then 1M RCPT: the sink's RSS over idle, and whether it ended the session
//   trickle  1000 clients trickle one octet every 2 s from 127.0.0.2: how long a normal client from
//            127.0.0.1 waits for its message to be accepted, and how many tricklers are left after 20 s
//   waits    600 GET /api/wait long-polls held open: how long GET /api/stats takes meanwhile
//   ends     a STARTTLS client that closes right after the handshake, and one that closes during a
//            delay: how long until the sink releases the connection (its `disconnect` event)
//
//   node bench/hostile-limits.mjs                      # every scenario, against the built package
//   node bench/hostile-limits.mjs --only flood,waits   # some of them
//   node bench/hostile-limits.mjs --core /tmp/core-old # another build of @mailhole/core (before/after)
//   node bench/hostile-limits.mjs --sink '{"maxConnectionsPerAddress":100}'   # extra startSink options
//
// Figures are printed as one JSON line per scenario; nothing is asserted (the machine may be busy).
import { execFile, fork } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { request } from 'node:http';
import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const MiB = 1024 * 1024;
const here = fileURLToPath(import.meta.url);

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string' },
    core: { type: 'string' },
    sink: { type: 'string', default: '{}' },
    child: { type: 'string' },
    rcpts: { type: 'string', default: '1000000' },
  },
});

async function loadCore(folder) {
  if (folder === undefined) return import('@mailhole/core');
  return import(pathToFileURL(`${folder}/dist/esm/index.js`).href);
}

function startChild(options) {
  const args = ['--child', JSON.stringify(options), ...(flags.core ? ['--core', flags.core] : [])];
  const child = fork(here, args, { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = (key) =>
    new Promise((resolve, reject) => {
      const onMessage = (message) => {
        if (message[key] !== undefined) {
          child.off('message', onMessage);
          resolve(message[key]);
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`the sink process exited (${code})`)));
    });
  return {
    ready: next('ready'),
    report: () => {
      child.send('report');
      return next('report');
    },
    close: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.send('close');
      }),
  };
}

const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function flood() {
  const count = Number(flags.rcpts);
  const child = startChild({ ...JSON.parse(flags.sink) });
  const { port, idle } = await child.ready;
  const started = Date.now();
  const socket = connect({ port, host: '127.0.0.1' });
  let closedBySink = false;
  let last = '';
  let replies = 0;
  socket.on('data', (chunk) => {
    const text = chunk.toString('latin1');
    replies += text.split('\r\n').length - 1;
    last = (last + text).slice(-300);
  });
  socket.on('error', () => {});
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.on('end', () => {
    closedBySink = true;
  });
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('EHLO flood.test\r\nMAIL FROM:<f@flood.test>\r\n');
  const line = Buffer.from('RCPT TO:<someone@sink.test>\r\n');
  const batch = Buffer.concat(Array.from({ length: 1000 }, () => line));
  let sent = 0;
  while (sent < count && !socket.destroyed && !closedBySink) {
    if (!socket.write(batch)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
    sent += 1000;
  }
  const finished = Date.now();
  // Past the RCPTs: the sink has them all (or ended the session); give it a moment, then look.
  if (!closedBySink) {
    socket.end('QUIT\r\n');
    await Promise.race([closed, tick(60_000)]);
  }
  const report = await child.report();
  socket.destroy();
  await child.close();
  return {
    rcptsSent: sent,
    // A 421 ended it; otherwise the client's QUIT after the last RCPT did (221).
    sessionEndedBySink: /^421 /.test(last.trim().split('\r\n').at(-1) ?? ''),
    lastReply: last.trim().split('\r\n').at(-1),
    replies,
    seconds: (finished - started) / 1000,
    idleRssMiB: +(idle / MiB).toFixed(1),
    peakRssMiB: +(report.peak / MiB).toFixed(1),
    peakOverIdleMiB: +((report.peak - idle) / MiB).toFixed(1),
  };
}

async function trickle() {
  const child = startChild({ idleTimeout: 10_000, ...JSON.parse(flags.sink) });
  const { port } = await child.ready;
  const tricklers = [];
  let refused = 0;
  let stop = false;
  for (let i = 0; i < 1000; i++) {
    const socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      // Turned away at connect (a connection limit), not ended later by a deadline.
      if (/^421 4\.7\.0/.test(chunk.toString('latin1'))) refused++;
    });
    tricklers.push(socket);
    (async () => {
      await new Promise((resolve) => socket.once('connect', resolve).once('close', resolve));
      const text = `EHLO ${'x'.repeat(200)}\r\n`;
      for (let j = 0; !stop && !socket.destroyed && j < text.length; j++) {
        socket.write(text[j]);
        await tick(2000);
      }
    })();
    if (i % 100 === 99) await tick(50);
  }
  await tick(3000);
  const normal = await new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    socket.on('error', (error) => resolve({ error: error.message, ms: Date.now() - started }));
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (/^250 2\.0\.0 Message accepted/m.test(text) || /^421 /m.test(text)) {
        resolve({ ms: Date.now() - started, outcome: text.trim().split('\r\n').at(-1) });
        socket.end('QUIT\r\n');
      }
    });
    socket.write(
      'EHLO normal.test\r\nMAIL FROM:<n@normal.test>\r\nRCPT TO:<r@sink.test>\r\nDATA\r\nSubject: hi\r\n\r\nhi\r\n.\r\n',
    );
  });
  await tick(20_000);
  const open = tricklers.filter((s) => !s.destroyed && s.readyState === 'open').length;
  const report = await child.report();
  stop = true;
  for (const socket of tricklers) socket.destroy();
  await child.close();
  return {
    normalClientMs: normal.ms,
    normalClientOutcome: normal.outcome ?? normal.error,
    tricklersRefusedAtConnect: refused,
    tricklersStillConnectedAfter23s: open,
    sinkActiveConnections: report.stats.activeConnections,
  };
}

function get(url, signal) {
  return new Promise((resolve) => {
    const started = Date.now();
    const req = request(url, { agent: false, signal }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Date.now() - started }));
    });
    req.on('error', (error) => resolve({ error: error.code ?? error.message, ms: Date.now() - started }));
    req.end();
  });
}

function curl(url) {
  return new Promise((resolve) => {
    execFile(
      'curl',
      ['-s', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', '--max-time', '10', url],
      (_e, out) => {
        const [code, seconds] = String(out).trim().split(' ');
        resolve(
          code === '000'
            ? { error: 'no answer', ms: Math.round(Number(seconds) * 1000) }
            : { status: Number(code), ms: Math.round(Number(seconds) * 1000) },
        );
      },
    );
  });
}

async function waits() {
  const child = startChild({ api: true, ...JSON.parse(flags.sink) });
  const { apiUrl } = await child.ready;
  const stop = new AbortController();
  setMaxListeners(1000, stop.signal);
  const pending = Array.from({ length: 600 }, () => get(`${apiUrl}/api/wait?count=1&timeout=60000`, stop.signal));
  await tick(2000);
  const stats = [];
  // From another process (curl), so the time is the sink's, not this busy client's.
  for (let i = 0; i < 5; i++) {
    stats.push(await curl(`${apiUrl}/api/stats`));
    await tick(200);
  }
  stop.abort();
  const outcomes = await Promise.all(pending);
  await child.close();
  const byStatus = {};
  for (const o of outcomes) byStatus[o.status ?? o.error] = (byStatus[o.status ?? o.error] ?? 0) + 1;
  return {
    statsAnswers: stats.map((s) => s.status ?? s.error),
    statsMs: stats.map((s) => s.ms),
    waitOutcomes: byStatus,
  };
}

async function ends() {
  const { startSink } = await loadCore(flags.core);
  const results = {};
  {
    const sink = await startSink({ tls: 'starttls', idleTimeout: 60_000 });
    const gone = new Promise((resolve) => sink.on('disconnect', () => resolve(Date.now())));
    const tcp = connect({ port: sink.port, host: '127.0.0.1' });
    let text = '';
    tcp.on('data', (chunk) => {
      text += chunk.toString('latin1');
    });
    await new Promise((resolve) => tcp.once('connect', resolve));
    tcp.write('EHLO c.test\r\nSTARTTLS\r\n');
    while (!text.includes('220 2.0.0')) await tick(5);
    tcp.removeAllListeners('data');
    const secure = connectTls({ socket: tcp, ca: sink.ca, servername: 'localhost' });
    await new Promise((resolve) => secure.once('secureConnect', resolve));
    const closedAt = Date.now();
    secure.end();
    const at = await Promise.race([gone, tick(10_000).then(() => undefined)]);
    results.starttlsCloseAfterHandshakeMs = at === undefined ? '>10000' : at - closedAt;
    await sink.close();
  }
  {
    const sink = await startSink({ delay: 60_000, idleTimeout: 120_000 });
    const gone = new Promise((resolve) => sink.on('disconnect', () => resolve(Date.now())));
    const socket = connect({ port: sink.port, host: '127.0.0.1' });
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@sink.test>\r\nDATA\r\n');
    while (!text.includes('354')) await tick(5);
    socket.write('Subject: x\r\n\r\nhi\r\n.\r\n');
    await tick(200);
    const closedAt = Date.now();
    socket.end();
    const at = await Promise.race([gone, tick(10_000).then(() => undefined)]);
    results.closeDuringDelayMs = at === undefined ? '>10000' : at - closedAt;
    await sink.close();
  }
  return results;
}

async function main() {
  const scenarios = { flood, trickle, waits, ends };
  const only = flags.only?.split(',') ?? Object.keys(scenarios);
  for (const name of only) {
    const run = scenarios[name];
    if (run === undefined) throw new Error(`unknown scenario ${name} (known: ${Object.keys(scenarios).join(', ')})`);
    const started = Date.now();
    const figures = await run();
    console.log(
      JSON.stringify({
        scenario: name,
        core: flags.core ?? '@mailhole/core',
        ...figures,
        wallS: (Date.now() - started) / 1000,
      }),
    );
  }
  process.exit(0);
}

// --- the sink, in its own process ------------------------------------------------------------------

if (flags.child !== undefined) {
  const { startSink } = await loadCore(flags.core);
  const sink = await startSink(JSON.parse(flags.child));
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  global.gc?.();
  const idle = process.memoryUsage().rss;
  process.send({ ready: { port: sink.port, apiUrl: sink.apiUrl, idle } });
  process.on('message', async (message) => {
    if (message === 'report') {
      process.send({ report: { peak, rss: process.memoryUsage().rss, stats: sink.stats() } });
    }
    if (message === 'close') {
      clearInterval(sampler);
      await sink.close();
      process.exit(0);
    }
  });
} else {
  await main();
}
