#!/usr/bin/env node
// What TLS costs a test suite (issue #3):
//   cold     making the test CA and server certificate in a fresh process (median of 5 processes),
//            and a fresh process's first startSink({ tls: 'starttls' }) against its first plain one;
//   per sink startSink({ tls: 'starttls' }) + close() against startSink() + close(), once warm
//            (median of 200 each, interleaved);
//   per session one nodemailer send with requireTLS against one without TLS, to one running sink
//            (median of 100 each, interleaved; each send is its own connection).
// Build @mailhole/core first. Usage: node bench/tls-cost.mjs [--json]
// Timings on a shared machine are noisy: medians, interleaving and warm-up keep them comparable.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSink } from '@mailhole/core';
import nodemailer from 'nodemailer';

const root = fileURLToPath(new URL('..', import.meta.url));
const COLD_PROCESSES = 5;
const SINK_ROUNDS = 200;
const SESSION_ROUNDS = 100;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const ms = (value) => `${value.toFixed(2)} ms`;

/** Runs `source` as an ES module in a fresh node process (from the repository root) and parses its JSON output. */
function inFreshProcess(source) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', source], { cwd: root }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

const coldCertificate = `
  const { testCertificate } = await import('@mailhole/core');
  const start = performance.now();
  await testCertificate();
  process.stdout.write(JSON.stringify(performance.now() - start));
`;

const coldSinks = `
  const { startSink } = await import('@mailhole/core');
  let start = performance.now();
  await (await startSink()).close();
  const plain = performance.now() - start;
  start = performance.now();
  await (await startSink({ tls: 'starttls' })).close();
  process.stdout.write(JSON.stringify({ plain, tls: performance.now() - start }));
`;

async function cold() {
  const certificate = [];
  const firstSinks = [];
  // One process at a time: concurrent ones would measure the scheduler, not the work.
  for (let i = 0; i < COLD_PROCESSES; i++) certificate.push(await inFreshProcess(coldCertificate));
  for (let i = 0; i < COLD_PROCESSES; i++) firstSinks.push(await inFreshProcess(coldSinks));
  return {
    certificateMs: median(certificate),
    certificateSamplesMs: certificate,
    firstPlainSinkMs: median(firstSinks.map((s) => s.plain)),
    firstTlsSinkMs: median(firstSinks.map((s) => s.tls)),
  };
}

async function timeSink(options) {
  const start = performance.now();
  const sink = await startSink(options);
  await sink.close();
  return performance.now() - start;
}

async function perSink() {
  // Warm: the certificate exists, code is loaded and optimised a little.
  for (let i = 0; i < 10; i++) {
    await timeSink({ tls: 'starttls' });
    await timeSink({});
  }
  const tls = [];
  const plain = [];
  for (let i = 0; i < SINK_ROUNDS; i++) {
    tls.push(await timeSink({ tls: 'starttls' }));
    plain.push(await timeSink({}));
  }
  const tlsMs = median(tls);
  const plainMs = median(plain);
  return { plainMs, tlsMs, addedMs: tlsMs - plainMs };
}

async function perSession() {
  const sink = await startSink({ tls: 'starttls', capture: 'count' });
  const message = { from: 'bench@client.test', to: 'sink@sink.test', subject: 'tls cost', text: 'x' };
  const overTls = nodemailer.createTransport({
    host: '127.0.0.1',
    port: sink.port,
    requireTLS: true,
    tls: sink.clientTls(),
  });
  const plain = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, ignoreTLS: true });
  const timeSend = async (transport) => {
    const start = performance.now();
    await transport.sendMail(message);
    return performance.now() - start;
  };
  try {
    for (let i = 0; i < 10; i++) {
      await timeSend(overTls);
      await timeSend(plain);
    }
    const tls = [];
    const clear = [];
    for (let i = 0; i < SESSION_ROUNDS; i++) {
      tls.push(await timeSend(overTls));
      clear.push(await timeSend(plain));
    }
    const tlsMs = median(tls);
    const plainMs = median(clear);
    return { plainMs, tlsMs, addedMs: tlsMs - plainMs, accepted: sink.accepted };
  } finally {
    overTls.close();
    plain.close();
    await sink.close();
  }
}

async function negotiated() {
  const sink = await startSink({ tls: 'starttls' });
  try {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: sink.port,
      requireTLS: true,
      tls: sink.clientTls(),
    });
    await transport.sendMail({ from: 'bench@client.test', to: 'sink@sink.test', text: 'x' });
    return (await sink.waitFor(1))[0]?.tls;
  } finally {
    await sink.close();
  }
}

const results = {
  node: process.version,
  cold: await cold(),
  perSink: await perSink(),
  perSession: await perSession(),
  tls: await negotiated(),
};

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const { cold: c, perSink: s, perSession: p } = results;
  console.log(`node ${results.node}, TLS negotiated: ${results.tls?.protocol} ${results.tls?.cipher}`);
  console.log(
    `cold: CA + server certificate in a fresh process: ${ms(c.certificateMs)} (median of ${COLD_PROCESSES}; samples ${c.certificateSamplesMs.map((v) => v.toFixed(0)).join(', ')} ms)`,
  );
  console.log(
    `cold: first startSink+close in a fresh process: plain ${ms(c.firstPlainSinkMs)}, starttls ${ms(c.firstTlsSinkMs)}`,
  );
  console.log(
    `warm, per sink (start+close, median of ${SINK_ROUNDS}): plain ${ms(s.plainMs)}, starttls ${ms(s.tlsMs)}, added ${ms(s.addedMs)}`,
  );
  console.log(
    `warm, per session (nodemailer send, median of ${SESSION_ROUNDS}): plain ${ms(p.plainMs)}, STARTTLS ${ms(p.tlsMs)}, added ${ms(p.addedMs)}`,
  );
}
