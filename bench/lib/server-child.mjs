// One SMTP server under test, in its own process so that it has the CPU to itself apart from the
// client's: `node bench/lib/server-child.mjs '<json config>'`, forked with an IPC channel.
// Config: { kind: 'mailhole' | 'smtp-server', options?: {...}, tls?: { key, cert }, sampleEvery?: n }
// It sends { type: 'listening', port, ca } and then answers { type: 'stats' | 'gc' | 'samples' } requests.
import { createRequire } from 'node:module';

const config = JSON.parse(process.argv[2] ?? '{}');
const require = createRequire(import.meta.url);

let accepted = () => 0;
let close = async () => {};
let port = 0;
let ca;

if (config.kind === 'mailhole') {
  const { startSink } = (await import('./core.mjs')).core;
  const sink = await startSink({ port: 0, ...config.options });
  accepted = () => sink.accepted;
  close = () => sink.close();
  port = sink.port;
  ca = sink.ca;
} else if (config.kind === 'smtp-server') {
  const { SMTPServer } = require('smtp-server');
  let count = 0;
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: config.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(config.tls ? { key: config.tls.key, cert: config.tls.cert } : {}),
    // Room for the idle-connection scenario; smtp-server's own default is unlimited.
    maxClients: 100_000,
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        count++;
        callback();
      });
    },
  });
  accepted = () => count;
  close = () => new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = server.server.address().port;
} else {
  throw new Error(`server-child: unknown kind ${config.kind}`);
}

// Resident memory sampled as the accepted count passes each multiple of sampleEvery (checked often
// enough that a sample is never more than a few hundred messages late, and cheap: no listener per delivery).
const samples = [];
if (config.sampleEvery > 0) {
  let next = config.sampleEvery;
  setInterval(() => {
    const n = accepted();
    if (n < next) return;
    const m = process.memoryUsage();
    const mb = (v) => v / 2 ** 20;
    samples.push({
      accepted: n,
      rssMB: mb(m.rss),
      heapUsedMB: mb(m.heapUsed),
      heapTotalMB: mb(m.heapTotal),
      externalMB: mb(m.external),
    });
    while (next <= n) next += config.sampleEvery;
  }, 10).unref();
}

function memory() {
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

process.on('message', async (message) => {
  switch (message.type) {
    case 'stats':
      process.send({ type: 'stats', accepted: accepted(), memory: memory() });
      break;
    case 'gc':
      // Twice: the first pass can leave objects that only the second frees (weak callbacks).
      globalThis.gc?.();
      globalThis.gc?.();
      process.send({
        type: 'gc',
        accepted: accepted(),
        memory: memory(),
        collected: typeof globalThis.gc === 'function',
      });
      break;
    case 'samples':
      process.send({ type: 'samples', samples });
      break;
    case 'close':
      await close();
      process.send({ type: 'closed' });
      process.disconnect();
      break;
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'listening', port, ca });
