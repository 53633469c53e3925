import { type Sink, startSink } from '@mailhole/core';
import { afterEach, describe, expect, it } from 'vitest';
import { greeted, messageOfSize, transaction, type WireClient } from './support/smtp-wire.js';
import { nextEvent } from './support/within.js';

let sink: Sink | undefined;
const wires: WireClient[] = [];

afterEach(async () => {
  for (const wire of wires.splice(0)) wire.destroy();
  await sink?.close();
  sink = undefined;
});

describe('counters over real sessions', () => {
  it('count connections, transactions, recipients, deliveries and bytes exactly', async () => {
    sink = await startSink({ maxRecipients: 2, maxMessageSize: 2000 });
    const first = await greeted(sink.port);
    wires.push(first.wire);
    await transaction(first.wire, {
      from: 'a@example.test',
      to: ['one@example.test', 'two@example.test', 'three@example.test'],
      data: messageOfSize(700),
    });
    await transaction(first.wire, { from: 'a@example.test', to: ['one@example.test'], data: messageOfSize(2001) });
    await first.wire.command('MAIL FROM:<a@example.test>');
    await first.wire.command('RSET');
    const second = await greeted(sink.port);
    wires.push(second.wire);
    await transaction(second.wire, { from: 'b@example.test', to: ['four@example.test'], data: messageOfSize(300) });
    const ended = nextEvent(sink, 'disconnect');
    await second.wire.command('QUIT');
    await ended;

    expect(sink.stats()).toMatchObject({
      connections: 2,
      activeConnections: 1,
      refusedConnections: 0,
      transactions: 4,
      recipientsAccepted: 4,
      recipientsRejected: 1,
      accepted: 2,
      rejected: 1,
      acceptedBytes: 1000,
    });
  });

  it('reset() zeroes the counters but keeps counting open connections', async () => {
    sink = await startSink();
    const { wire } = await greeted(sink.port);
    wires.push(wire);
    await transaction(wire, { from: 'a@example.test', to: ['b@example.test'], data: messageOfSize(100) });

    sink.reset();
    await transaction(wire, { from: 'a@example.test', to: ['b@example.test'], data: messageOfSize(150) });

    expect(sink.stats()).toMatchObject({
      accepted: 1,
      connections: 0,
      activeConnections: 1,
      transactions: 1,
      recipientsAccepted: 1,
      acceptedBytes: 150,
    });
    expect(sink.deliveries()).toHaveLength(1);
  });
});
