#!/usr/bin/env node
// The per-test cost, measured in one process the way a test suite pays it:
//   fresh mailhole      startSink() + one nodemailer send + close, per round
//   fresh mailhole TLS  the same with STARTTLS, requireTLS and certificate verification on
//   running smtp-sink   the same nodemailer send to an smtp-sink that is already running (the floor)
//   running mailhole    the same send to a mailhole sink that is already running
//   fresh smtp-server   new SMTPServer + listen + the same send + close
// Rounds are interleaved so that load spikes hit every variant alike; medians are reported.
//
//   node bench/scenarios/per-test.mjs --sink-port <smtp-sink port> [--rounds 200] [--server-rounds 20]
// Prints one JSON line.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { baseline, core } from '../lib/core.mjs';
import { median, quantile } from '../lib/stats.mjs';

const { startSink } = core;

const { values } = parseArgs({
  options: {
    'sink-port': { type: 'string' },
    rounds: { type: 'string', default: '200' },
    'server-rounds': { type: 'string', default: '20' },
  },
});
const { SMTPServer } = createRequire(import.meta.url)('smtp-server');
const message = { from: 'bench@client.test', to: 'sink@sink.test', subject: 'per-test', text: 'hello' };

/** One send on its own transport (its own connection), as a test that builds its transport would. */
async function send(port, extra = {}) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    ignoreTLS: extra.tls === undefined,
    ...extra,
  });
  try {
    await transport.sendMail(message);
  } finally {
    transport.close();
  }
}

const variants = {
  ...(baseline === undefined
    ? {}
    : {
        async 'freshMailhole (baseline)'() {
          const sink = await baseline.startSink();
          await send(sink.port);
          await sink.close();
        },
        async 'freshMailholeTls (baseline)'() {
          const sink = await baseline.startSink({ tls: 'starttls' });
          await send(sink.port, { requireTLS: true, tls: sink.clientTls() });
          await sink.close();
        },
      }),
  async freshMailhole() {
    const sink = await startSink();
    await send(sink.port);
    await sink.close();
  },
  async freshMailholeTls() {
    const sink = await startSink({ tls: 'starttls' });
    await send(sink.port, { requireTLS: true, tls: sink.clientTls() });
    await sink.close();
  },
  async runningSmtpSink() {
    await send(Number(values['sink-port']));
  },
  async runningMailhole() {
    await send(running.port);
  },
  async freshSmtpServer() {
    const server = new SMTPServer({
      logger: false,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      onData(stream, _session, callback) {
        stream.resume();
        stream.on('end', () => callback());
      },
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    await send(server.server.address().port);
    await new Promise((resolve) => server.close(resolve));
  },
};

const running = await startSink({ capture: 'count' });
const timings = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
const time = async (name) => {
  const start = performance.now();
  await variants[name]();
  timings[name].push(performance.now() - start);
};

// Warm-up: code loaded and optimised a little, the test certificate made (it is cached on disk).
const interleaved = Object.keys(variants).filter((name) => name !== 'freshSmtpServer');
for (let i = 0; i < 20; i++) for (const name of interleaved) await time(name);
await time('freshSmtpServer');
for (const list of Object.values(timings)) list.length = 0;

const rounds = Number(values.rounds);
const serverEvery = Math.max(1, Math.floor(rounds / Number(values['server-rounds'])));
for (let i = 0; i < rounds; i++) {
  // Rotate the order each round so no variant always runs right after another.
  for (let k = 0; k < interleaved.length; k++) await time(interleaved[(i + k) % interleaved.length]);
  if (i % serverEvery === 0) await time('freshSmtpServer');
}
await running.close();

const summary = Object.fromEntries(
  Object.entries(timings).map(([name, list]) => [
    name,
    { medianMs: median(list), p90Ms: quantile(list, 0.9), rounds: list.length },
  ]),
);
process.stdout.write(`${JSON.stringify(summary)}\n`);
