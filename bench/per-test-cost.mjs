// What one test pays for its own sink: a fresh startSink(), one nodemailer send, and close().
// Median of 30 runs in one process after one warm-up run. Needs the built core (pnpm run build).
// Usage: node bench/per-test-cost.mjs [runs]
import { performance } from 'node:perf_hooks';
import { startSink } from '@mailhole/core';
import nodemailer from 'nodemailer';

const runs = Number(process.argv[2] ?? 30);

async function once() {
  const started = performance.now();
  const sink = await startSink();
  const transport = nodemailer.createTransport({ host: sink.host, port: sink.port });
  await transport.sendMail({
    from: 'bench@example.test',
    to: 'sink@example.test',
    subject: 'cost',
    text: 'one message',
  });
  await sink.waitFor(1);
  await sink.close();
  transport.close();
  return performance.now() - started;
}

await once();
const times = [];
for (let i = 0; i < runs; i++) times.push(await once());
times.sort((a, b) => a - b);
const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
const ms = (n) => `${n.toFixed(2)} ms`;
console.log(
  `startSink + 1 nodemailer send + close, ${runs} runs: median ${ms(at(0.5))}, min ${ms(times[0])}, p90 ${ms(at(0.9))}, max ${ms(times[times.length - 1])}`,
);
