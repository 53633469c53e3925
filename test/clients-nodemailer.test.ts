import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Sink, startSink } from '@mailhole/core';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from './support/child.js';
import { within } from './support/within.js';

let sink: Sink | undefined;
const transports: Array<{ close(): void }> = [];

afterEach(async () => {
  for (const transport of transports.splice(0)) transport.close();
  await sink?.close();
  sink = undefined;
});

const attachment = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256));
// Fixed id, date and MIME boundary make the message byte-for-byte reproducible.
const message = {
  from: 'Sender <sender@example.test>',
  to: 'first@example.test',
  cc: 'second@example.test',
  bcc: 'hidden@example.test',
  subject: 'mailhole: nodemailer single send',
  text: 'Plain text body.\n.A line that starts with a dot.\n',
  html: '<p>HTML <b>body</b></p>',
  attachments: [{ filename: 'bytes.bin', content: attachment }],
  messageId: '<fixed-id@example.test>',
  date: new Date('2024-01-02T03:04:05Z'),
  baseBoundary: 'mailholeboundary',
};

/** The message as it leaves an SMTP transport: the stream transport keeps a Bcc header, SMTP does not. */
async function wireMessage(): Promise<Buffer> {
  const { bcc: _, ...visible } = message;
  const stream = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await stream.sendMail(visible);
  return info.message as Buffer;
}

describe('nodemailer against the sink', () => {
  it('delivers a text + html + attachment message and records its envelope, BCC included', async () => {
    sink = await startSink({ capture: 'full' });
    const transport = nodemailer.createTransport({ host: sink.host, port: sink.port, secure: false });
    transports.push(transport);

    const info = await transport.sendMail(message);
    const [record] = await sink.waitFor(1);

    expect(info.accepted).toEqual(['first@example.test', 'second@example.test', 'hidden@example.test']);
    expect(sink.accepted).toBe(1);
    expect(record?.sender).toBe('sender@example.test');
    expect(record?.recipients).toEqual(['first@example.test', 'second@example.test', 'hidden@example.test']);
    const sent = await wireMessage();
    expect(record?.size).toBe(sent.length);
    expect(sink.messages()[0]?.raw.equals(sent)).toBe(true);
    expect(sink.stats()).toMatchObject({ accepted: 1, transactions: 1, recipientsAccepted: 3, rejected: 0 });
  });

  it('counts exactly 30 messages sent through a pool of 3 connections', async () => {
    sink = await startSink();
    const transport = nodemailer.createTransport({ host: sink.host, port: sink.port, pool: true, maxConnections: 3 });
    transports.push(transport);

    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        transport.sendMail({
          from: 'pool@example.test',
          to: `r${i}@example.test`,
          subject: `#${i}`,
          text: `message ${i}`,
        }),
      ),
    );
    await sink.waitFor(30);

    expect(sink.accepted).toBe(30);
    expect(sink.stats().connections).toBeLessThanOrEqual(3);
    expect(new Set(sink.deliveries().map((r) => r.recipients[0])).size).toBe(30);
  });

  it('close() resolves while pooled connections are idle, and they get 421 and are closed', async () => {
    sink = await startSink();
    const { host, port } = sink;
    const sockets: Socket[] = [];
    const closes: Array<Promise<void>> = [];
    const heard: string[] = [];
    const transport = nodemailer.createTransport({
      host,
      port,
      pool: true,
      maxConnections: 3,
      // Our own sockets, so the test sees what the pool's connections see.
      getSocket: (_options: unknown, callback: (error: Error | null, socketOptions?: object) => void) => {
        const socket = connect({ host, port });
        sockets.push(socket);
        closes.push(new Promise((resolve) => socket.once('close', () => resolve())));
        socket.once('connect', () => callback(null, { connection: socket }));
        socket.once('error', (error) => callback(error));
      },
    });
    transports.push(transport);

    await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        transport.sendMail({ from: 'a@example.test', to: 'b@example.test', text: `${i}` }),
      ),
    );
    for (const socket of sockets) socket.on('data', (chunk: Buffer) => heard.push(chunk.toString('latin1')));
    expect(sink.stats().activeConnections).toBe(sockets.length);

    await within(sink.close(), 5000, 'sink.close() with idle pooled connections');
    await within(Promise.all(closes), 5000, 'the pool sockets closing');

    expect(heard.join('')).toContain('421 4.3.2');
    expect(sink.stats().activeConnections).toBe(0);
    expect(sink.connectionCount).toBe(0);
  });

  it('a process whose sink closed under an idle pool exits by itself: no handle or timer left', async () => {
    const child = await run(
      process.execPath,
      [fileURLToPath(new URL('./support/pooled-close-child.mjs', import.meta.url))],
      {
        timeout: 15_000,
      },
    );

    expect(child.stderr).toBe('');
    expect(child.code).toBe(0);
    const report = JSON.parse(child.stdout) as { accepted: number; open: number; closed: number };
    expect(report.accepted).toBe(9);
    expect(report.open).toBeGreaterThan(0);
    expect(report.closed).toBe(report.open);
  });
});
