#!/usr/bin/env node
// Start + close of a server without any client: what a per-test sink costs before any mail.
//   mailhole     await (await startSink()).close()
//   smtp-server  new SMTPServer(...) + listen(0) + close()
// Interleaved rounds after a warm-up; medians and 90th percentiles.
//
//   node bench/scenarios/start-close.mjs [--rounds 2000]
// Prints one JSON line.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { baseline, core } from '../lib/core.mjs';
import { median, quantile } from '../lib/stats.mjs';

const { startSink } = core;

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2000' } } });
const { SMTPServer } = createRequire(import.meta.url)('smtp-server');

const variants = {
  async mailhole() {
    const sink = await startSink();
    await sink.close();
  },
  async smtpServer() {
    const server = new SMTPServer({ logger: false, authOptional: true, disabledCommands: ['AUTH', 'STARTTLS'] });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
  },
};
if (baseline !== undefined) {
  variants['mailhole (baseline)'] = async () => {
    const sink = await baseline.startSink();
    await sink.close();
  };
}
const names = Object.keys(variants);
const timings = Object.fromEntries(names.map((name) => [name, []]));
const time = async (name) => {
  const start = performance.now();
  await variants[name]();
  timings[name].push(performance.now() - start);
};

for (let i = 0; i < 200; i++) for (const name of names) await time(name);
for (const list of Object.values(timings)) list.length = 0;
const rounds = Number(values.rounds);
for (let i = 0; i < rounds; i++) {
  // The order rotates every round, so no variant always follows another.
  for (let k = 0; k < names.length; k++) await time(names[(i + k) % names.length]);
}
const summary = Object.fromEntries(
  Object.entries(timings).map(([name, list]) => [
    name,
    { medianMs: median(list), p90Ms: quantile(list, 0.9), rounds: list.length },
  ]),
);
process.stdout.write(`${JSON.stringify(summary)}\n`);
