#!/usr/bin/env node
// STARTTLS sessions with certificate verification on: each message is its own connection (EHLO,
// STARTTLS, the handshake, EHLO again, MAIL, RCPT, DATA, QUIT), sent by nodemailer like an app would.
//
//   node bench/clients/tls-client.mjs --port 2525 --ca-file ca.pem [--sessions 300] [--concurrency 10]
//
// Prints one JSON line: { sessions, elapsedMs, errors }. Exits 1 on any error.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'ca-file': { type: 'string' },
    servername: { type: 'string', default: 'localhost' },
    sessions: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '10' },
  },
});
if (values.port === undefined || values['ca-file'] === undefined) {
  console.error('tls-client: --port and --ca-file are required');
  process.exit(2);
}
const transport = nodemailer.createTransport({
  host: '127.0.0.1',
  port: Number(values.port),
  requireTLS: true,
  tls: { ca: readFileSync(values['ca-file'], 'utf8'), servername: values.servername, rejectUnauthorized: true },
});
const message = { from: 'bench@client.test', to: 'sink@sink.test', subject: 'starttls', text: 'x'.repeat(1000) };

let remaining = Number(values.sessions);
let sent = 0;
const errors = [];
const started = performance.now();
await Promise.all(
  Array.from({ length: Number(values.concurrency) }, async () => {
    while (remaining > 0) {
      remaining--;
      try {
        await transport.sendMail(message);
        sent++;
      } catch (error) {
        if (errors.length < 10) errors.push(error.message);
      }
    }
  }),
);
const elapsedMs = performance.now() - started;
transport.close();
process.stdout.write(`${JSON.stringify({ sessions: sent, elapsedMs, errors })}\n`);
process.exitCode = errors.length > 0 ? 1 : 0;
