import { randomBytes } from 'node:crypto';
import { type Sink, startSink } from '@mailhole/core';
import { afterEach, describe, expect, it } from 'vitest';
import { greeted, messageOfSize, transaction, WireClient } from './support/smtp-wire.js';
import { nextEvent } from './support/within.js';

let sink: Sink | undefined;
let errors: unknown[] = [];
const wires: WireClient[] = [];

afterEach(async () => {
  for (const wire of wires.splice(0)) wire.destroy();
  await sink?.close();
  sink = undefined;
  errors = [];
});

async function startWatched(): Promise<Sink> {
  const started = await startSink({ maxMessageSize: 1_000_000 });
  started.on('error', (error) => errors.push(error));
  return started;
}

/** A fresh client can still deliver: the sink survived whatever came before. */
async function stillDelivers(target: Sink): Promise<number> {
  const { wire } = await greeted(target.port);
  wires.push(wire);
  const result = await transaction(wire, {
    from: 'after@example.test',
    to: ['r@example.test'],
    data: messageOfSize(200),
  });
  return result.final?.code ?? 0;
}

describe('misbehaving clients', () => {
  it('a client that resets the connection mid-DATA is not counted and the sink goes on', async () => {
    sink = await startWatched();
    const { wire } = await greeted(sink.port);
    await wire.command('MAIL FROM:<a@example.test>');
    await wire.command('RCPT TO:<b@example.test>');
    await wire.command('DATA');
    wire.write(messageOfSize(50_000).slice(0, 30_000));
    const gone = nextEvent(sink, 'disconnect');

    wire.socket.resetAndDestroy();
    await gone;

    expect(sink.accepted).toBe(0);
    expect(sink.stats()).toMatchObject({ accepted: 0, transactions: 1, activeConnections: 0 });
    expect(await stillDelivers(sink)).toBe(250);
    expect(sink.accepted).toBe(1);
    expect(errors).toEqual([]);
  });

  it('a client that writes garbage and vanishes leaves the sink serving', async () => {
    sink = await startWatched();
    const wire = await WireClient.open(sink.port);
    await wire.expect(220);
    const gone = nextEvent(sink, 'disconnect');

    wire.write(Buffer.concat([randomBytes(4096), Buffer.from('\x00\xff\r\n\r\n.\r\n'), randomBytes(70_000)]));
    wire.socket.resetAndDestroy();
    await gone;

    expect(await stillDelivers(sink)).toBe(250);
    expect(sink.stats()).toMatchObject({ accepted: 1, activeConnections: 1 });
    expect(errors).toEqual([]);
  });

  it('a client that sends a whole transaction then closes without reading gets it counted once', async () => {
    sink = await startWatched();
    const wire = await WireClient.open(sink.port);
    wires.push(wire);
    const gone = nextEvent(sink, 'disconnect');

    // Everything in one write, then a half-close: the replies are never read.
    wire.socket.end(
      `EHLO blind.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n${messageOfSize(100)}.\r\nQUIT\r\n`,
    );
    await gone;

    expect(sink.accepted).toBe(1);
    expect(errors).toEqual([]);
  });
});
