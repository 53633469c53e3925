import { type Sink, startSink, WaitTimeoutError } from '@mailhole/core';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { greeted, transaction, WireClient } from './support/smtp-wire.js';
import { nextEvent, within } from './support/within.js';

const sinks: Sink[] = [];
const wires: WireClient[] = [];

afterEach(async () => {
  for (const wire of wires.splice(0)) wire.destroy();
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

async function start(options?: Parameters<typeof startSink>[0]): Promise<Sink> {
  const sink = await startSink(options);
  sinks.push(sink);
  return sink;
}

describe('binding', () => {
  it('listens on IPv6 loopback with host "::1" and names it in brackets in sink.url', async () => {
    const sink = await start({ host: '::1' });
    const transport = nodemailer.createTransport({ host: '::1', port: sink.port });

    await transport.sendMail({ from: 'six@example.test', to: 'v6@example.test', text: 'over IPv6' });
    transport.close();
    const [record] = await sink.waitFor(1);

    expect(sink.host).toBe('::1');
    expect(sink.url).toBe(`smtp://[::1]:${sink.port}`);
    expect(record?.client.address).toBe('::1');
  });

  it('fails to start on a port in use with an error naming the "port" option', async () => {
    const first = await start();

    const second = startSink({ port: first.port });

    await expect(second).rejects.toThrow(/already in use.*"port"/);
  });

  it.each([
    [{ port: 70_000 }, /"port"/],
    [{ port: -1 }, /"port"/],
    [{ host: '' }, /"host"/],
    [{ maxConnections: 0 }, /"maxConnections"/],
    [{ maxRecipients: 1.5 }, /"maxRecipients"/],
    [{ maxMessageSize: '1M' }, /"maxMessageSize"/],
    [{ idleTimeout: -5 }, /"idleTimeout"/],
    [{ tls: 'yes' }, /"tls"/],
    [{ maxConnection: 5 }, /unknown option "maxConnection"/],
  ])('refuses %o with an error naming the option', async (options, message) => {
    await expect(startSink(options as Parameters<typeof startSink>[0])).rejects.toThrow(message);
  });
});

describe('close()', () => {
  it('sends 421 to an idle session and closes its connection', async () => {
    const sink = await start();
    const { wire } = await greeted(sink.port);
    wires.push(wire);

    await within(sink.close(), 5000, 'sink.close()');
    const goodbye = await wire.reply();
    await wire.waitClosed();

    expect(goodbye.last).toMatch(/^421 4\.3\.2 /);
  });

  it('does not count a message whose data was still arriving when the sink closed', async () => {
    const sink = await start();
    const { wire } = await greeted(sink.port);
    wires.push(wire);
    await wire.command('MAIL FROM:<a@example.test>');
    await wire.command('RCPT TO:<b@example.test>');
    await wire.command('DATA');
    wire.write('Subject: cut\r\n\r\nhalf');

    await within(sink.close(), 5000, 'sink.close()');
    await wire.waitClosed();

    expect(sink.accepted).toBe(0);
  });

  it('refuses new connections once closed', async () => {
    const sink = await start();
    await sink.close();

    await expect(WireClient.open(sink.port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('rejects a pending waitFor saying the sink was closed', async () => {
    const sink = await start();
    const waiting = sink.waitFor(1, { timeout: 10_000 });

    await sink.close();

    await expect(waiting).rejects.toThrow(/closed/);
  });
});

describe('waitFor timeout message', () => {
  it('says how many deliveries arrived and how the last session ended', async () => {
    const sink = await start({ maxMessageSize: 100 });
    const { wire } = await greeted(sink.port);
    wires.push(wire);
    await transaction(wire, { from: 'ok@example.test', to: ['r@example.test'], data: 'Subject: fits\r\n\r\nx\r\n' });
    const ended = nextEvent(sink, 'disconnect');
    await wire.command('MAIL FROM:<big@example.test> SIZE=5000');
    await wire.command('QUIT');
    await ended;

    const error = await sink.waitFor(2, { timeout: 200 }).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(WaitTimeoutError);
    const text = (error as Error).message;
    expect(text).toContain('waitFor timed out after 200 ms with 1 of 2 deliveries');
    expect(text).toMatch(/last session \(connection #1 from 127\.0\.0\.1:\d+\) ended with MAIL: 552 5\.3\.4 /);
    expect(text).toContain('ok@example.test');
  });

  it('says no client connected when none did', async () => {
    const sink = await start();

    await expect(sink.waitFor(1, { timeout: 100 })).rejects.toThrow(
      /with 0 of 1 deliveries[\s\S]*No client connected: is the sender pointed at this sink/,
    );
  });
});
