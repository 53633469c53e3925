#!/usr/bin/env node
// The soak (issue #9): minutes of mixed, hostile load against one sink, on loopback, with the sink
// in its own process so its memory and handles are its own. Every 5 s it prints the sink's memory
// (rss, heapUsed after a GC) and open handles; at the end, a summary, and the exit code says whether
// the sink's count of accepted deliveries equals the 2xx final replies the clients read and whether
// memory stayed within bounds.
//
//   pnpm soak                        # builds, then 3 minutes
//   node bench/soak.mjs --minutes 1  # uses the built package (pnpm build first)
//   node bench/soak.mjs --minutes 2 --clients 32 --seed 7
//
// Load: raw pipelining clients over DATA and BDAT on the plain and implicit-TLS ports (5% of their
// transactions abandoned part-way, by FIN or RST), nodemailer over plain SMTP and STARTTLS (pooled
// and not), oversize messages (2 MiB against maxMessageSize 1 MiB: 552), random bytes, and
// connections abandoned half-open. The sink injects seeded faults: 451s, recipient refusals,
// delays, disconnects, silent closes and resets.
import { fork } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const MiB = 1024 * 1024;
const SAMPLE_MS = 5000;
/** Growth of the sink's heap (after GC) from the first sample to the last, beyond which the run fails. */
const HEAP_GROWTH_BOUND = 32 * MiB;
/** Largest resident size of the sink process over the run, beyond which the run fails. */
const RSS_BOUND = 256 * MiB;
const MAX_MESSAGE = MiB;

const faults = [
  { name: 'slow-mail', stage: 'mail', match: { probability: 0.02 }, action: { type: 'delay', ms: [1, 20] } },
  { name: 'no-such-user', stage: 'rcpt', match: { probability: 0.03 }, action: '550 5.1.1 No such user' },
  { name: 'try-later', stage: 'message', match: { probability: 0.08 }, action: '451 4.3.0 Try again later' },
  { name: 'slow-final', stage: 'message', match: { probability: 0.03 }, action: { type: 'delay', ms: [1, 40] } },
  { name: 'disconnect', stage: 'message', match: { probability: 0.005 }, action: 'disconnect' },
  { name: 'silent-close', stage: 'message', match: { probability: 0.005 }, action: 'close' },
  { name: 'reset', stage: 'message', match: { probability: 0.005 }, action: 'reset' },
];

// --- the sink, in its own process ----------------------------------------------------------------

if (process.argv[2] === '--sink') {
  const { startSink } = await import('@mailhole/core');
  const sink = await startSink({ ...JSON.parse(process.argv[3]), faults, tls: 'both', maxMessageSize: MAX_MESSAGE });
  const handles = () => {
    const counts = {};
    for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
    return counts;
  };
  const sample = () => {
    global.gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    return { rss, heapUsed, handles: handles(), stats: sink.stats() };
  };
  process.on('message', async (message) => {
    if (message === 'sample') process.send({ sample: sample() });
    if (message === 'close') {
      const before = sample();
      const started = Date.now();
      await sink.close();
      const closeMs = Date.now() - started;
      // Node lists a closed server's handle until its close callback has run: give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 100));
      process.send({ closed: { before, closeMs, after: sample(), fired: sink.faults.fired().length } });
      process.disconnect();
    }
  });
  process.send({ ready: { port: sink.port, tlsPort: sink.tlsPort, ca: sink.ca, seed: sink.seed } });
} else {
  await soak();
}

// --- the load --------------------------------------------------------------------------------------

async function soak() {
  const { values: flags } = parseArgs({
    options: {
      minutes: { type: 'string', default: '3' },
      clients: { type: 'string', default: '24' },
      seed: { type: 'string', default: '2920' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (flags.help) {
    console.log('usage: node bench/soak.mjs [--minutes N (default 3)] [--clients N (default 24)] [--seed N]');
    return;
  }
  const minutes = Number(flags.minutes);
  const clients = Number(flags.clients);
  const seed = Number(flags.seed);
  if (!(minutes > 0 && minutes <= 120) || !(clients > 0 && clients <= 500) || !Number.isInteger(seed)) {
    console.error('soak: --minutes must be from 0 to 120, --clients from 1 to 500, --seed a whole number');
    process.exit(2);
  }
  const { newTally, nodemailerClient, rawClient, seeded } = await import('../test/support/hostile-load.mjs');

  const child = fork(fileURLToPath(import.meta.url), ['--sink', JSON.stringify({ seed })], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies = [];
  let waiter;
  child.on('message', (message) => {
    replies.push(message);
    waiter?.();
  });
  const next = async (key) => {
    for (;;) {
      const i = replies.findIndex((m) => key in m);
      if (i >= 0) return replies.splice(i, 1)[0][key];
      await new Promise((resolve) => (waiter = resolve));
    }
  };
  const ready = await next('ready');
  const target = { host: '127.0.0.1', port: ready.port, tlsPort: ready.tlsPort, ca: ready.ca };
  const log = (...parts) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}]`, ...parts);
  log(`sink on 127.0.0.1:${ready.port} (TLS ${ready.tlsPort}), seed ${ready.seed}, ${clients} clients, ${minutes} min`);

  const tally = newTally();
  const extra = { oversize: 0, oversizeRefused: 0, garbage: 0, abandoned: 0 };
  const rng = seeded(seed);
  const started = Date.now();
  const deadline = started + minutes * 60_000;
  const stop = () => Date.now() >= deadline;

  const worker = async (w) => {
    const mine = seeded(Math.floor(rng() * 2 ** 32));
    for (let round = 0; !stop(); round++) {
      const options = { id: `${w}r${round}`, messages: 20, rng: mine, tally, stop };
      const pick = mine();
      if (pick < 0.3) await rawClient(target, { ...options, abort: 0.05 });
      else if (pick < 0.45)
        await rawClient({ ...target, port: target.tlsPort, implicitTls: true }, { ...options, abort: 0.05 });
      else if (pick < 0.6) await nodemailerClient(target, { ...options, pool: true, tls: 'starttls' });
      else if (pick < 0.75) await nodemailerClient(target, { ...options, messages: 5, pool: false, tls: 'none' });
      else if (pick < 0.85) await oversize(target, extra, tally);
      else if (pick < 0.93) await garbage(target, mine, extra, tally);
      else await abandon(target, mine, extra, tally);
    }
  };

  const samples = [];
  const sampler = async () => {
    child.send('sample');
    const s = await next('sample');
    samples.push({ t: (Date.now() - started) / 1000, ...s });
    const h = s.handles;
    log(
      `rss ${mb(s.rss)} MiB, heapUsed ${mb(s.heapUsed)} MiB, handles: ${h.TCPSocketWrap ?? 0} sockets, ` +
        `${h.TCPServerWrap ?? 0} servers, ${h.Timeout ?? 0} timers | accepted ${s.stats.accepted}, ` +
        `connections ${s.stats.connections}, faults ${s.stats.faults}`,
    );
  };
  await sampler();
  const timer = setInterval(() => void sampler(), SAMPLE_MS);
  await Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
  clearInterval(timer);
  // Let connections the clients just closed finish closing on the sink's side.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await sampler();
  child.send('close');
  const closed = await next('closed');

  const stats = closed.before.stats;
  const heapGrowth = samples.at(-1).heapUsed - samples[0].heapUsed;
  const rssMax = Math.max(...samples.map((s) => s.rss));
  const leftAfterClose =
    (closed.after.handles.TCPSocketWrap ?? 0) +
    (closed.after.handles.TCPServerWrap ?? 0) +
    (closed.after.handles.TLSWrap ?? 0);
  const checks = {
    'accepted equals the 2xx final replies clients read': stats.accepted === tally.seen2xx,
    'every 250 id a client read is a distinct delivery': tally.ids.size === tally.seen2xx,
    'no unexpected client-side failure': tally.errors.length === 0,
    'every message accounted for on the client side':
      tally.seen2xx + tally.refused + tally.aborted + tally.lost === tally.attempted,
    [`heap growth (after GC) under ${mb(HEAP_GROWTH_BOUND)} MiB`]: heapGrowth < HEAP_GROWTH_BOUND,
    [`rss under ${mb(RSS_BOUND)} MiB`]: rssMax < RSS_BOUND,
    'no connection left open before close()': stats.activeConnections === 0,
    'no socket or server left after close()': leftAfterClose === 0,
  };

  const seconds = (Date.now() - started) / 1000;
  console.log('');
  console.log(`soak summary (${seconds.toFixed(0)} s, seed ${ready.seed})`);
  console.log(
    `  sessions:   ${stats.connections} connections to the sink (${tally.sessions} from raw and hostile clients, the rest nodemailer)`,
  );
  console.log(
    `  messages:   ${tally.attempted} attempted by clients: ${tally.seen2xx} got 2xx, ${tally.refused} refused, ` +
      `${tally.aborted} abandoned part-way, ${tally.lost} cut off by a fault; ${extra.oversize} oversize (${extra.oversizeRefused} got 552, the others an injected fault first)`,
  );
  console.log(
    `  hostile:    ${extra.garbage} random-byte sessions, ${extra.abandoned} half-open connections abandoned`,
  );
  console.log(
    `  bytes:      ${mb(stats.receivedBytes)} MiB received by the sink, ${mb(stats.acceptedBytes)} MiB in accepted messages`,
  );
  console.log(`  faults:     ${stats.faults} fired (${closed.fired} kept in sink.faults.fired())`);
  console.log(
    `  accounting: sink accepted ${stats.accepted}, clients read ${tally.seen2xx} 2xx final replies, sink rejected ${stats.rejected}`,
  );
  console.log(
    `  memory:     rss ${mb(Math.min(...samples.map((s) => s.rss)))}–${mb(rssMax)} MiB, heapUsed after GC ` +
      `${mb(Math.min(...samples.map((s) => s.heapUsed)))}–${mb(Math.max(...samples.map((s) => s.heapUsed)))} MiB ` +
      `(first ${mb(samples[0].heapUsed)}, last ${mb(samples.at(-1).heapUsed)})`,
  );
  console.log(
    `  handles:    at most ${Math.max(...samples.map((s) => s.handles.TCPSocketWrap ?? 0))} sockets during the run; ` +
      `close() took ${closed.closeMs} ms and left ${leftAfterClose} sockets or servers (${JSON.stringify(closed.after.handles)})`,
  );
  for (const [check, ok] of Object.entries(checks)) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${check}`);
  if (tally.errors.length > 0) console.log(`  client errors: ${tally.errors.slice(0, 5).join('; ')}`);
  process.exitCode = Object.values(checks).every(Boolean) ? 0 : 1;
}

function mb(bytes) {
  return (bytes / MiB).toFixed(1);
}

/** A raw session that sends a 2 MiB message by BDAT to a sink that takes 1 MiB: it must get 552. */
async function oversize(target, extra, tally) {
  const socket = await open(target);
  if (socket === undefined) return;
  extra.oversize++;
  tally.sessions++;
  const text = collect(socket);
  const body = Buffer.alloc(2 * MAX_MESSAGE, 'o');
  socket.write(
    `EHLO soak.test\r\nMAIL FROM:<oversize@load.test>\r\nRCPT TO:<big@sink.test>\r\nBDAT ${body.length} LAST\r\n`,
  );
  socket.write(body);
  socket.end('QUIT\r\n');
  tally.bytes += body.length;
  const reply = await text;
  if (/^552 5\.3\.4 /m.test(reply)) extra.oversizeRefused++;
}

/** A session of random bytes: the sink answers it with refusals and ends it. */
async function garbage(target, rng, extra, tally) {
  const socket = await open(target);
  if (socket === undefined) return;
  extra.garbage++;
  tally.sessions++;
  const text = collect(socket);
  const bytes = Buffer.alloc(8192);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rng() * 256);
  socket.end(bytes);
  tally.bytes += bytes.length;
  await text;
}

/** Connections that stop half-way through a command and vanish, by FIN or by RST. */
async function abandon(target, rng, extra, tally) {
  for (let i = 0; i < 10; i++) {
    const socket = await open(target);
    if (socket === undefined) return;
    extra.abandoned++;
    tally.sessions++;
    socket.write('EHLO half');
    await new Promise((resolve) => setTimeout(resolve, Math.floor(rng() * 20)));
    if (rng() < 0.5) socket.resetAndDestroy();
    else socket.destroy();
  }
}

function open(target) {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    socket.once('connect', () => resolve(socket));
    socket.once('error', () => resolve(undefined));
    socket.on('error', () => {});
  });
}

/** Everything the socket receives until it closes (bounded wait: 30 s). */
function collect(socket) {
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk) => {
    text += chunk;
  });
  socket.setTimeout(30_000, () => socket.destroy());
  return new Promise((resolve) => socket.once('close', () => resolve(text)));
}
