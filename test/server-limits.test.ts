import { type Sink, startSink } from '@mailhole/core';
import { afterEach, describe, expect, it } from 'vitest';
import { greeted, messageOfSize, transaction, WireClient } from './support/smtp-wire.js';
import { nextEvent } from './support/within.js';

let sink: Sink | undefined;
const wires: WireClient[] = [];

afterEach(async () => {
  for (const wire of wires.splice(0)) wire.destroy();
  await sink?.close();
  sink = undefined;
});

async function open(target: Sink): Promise<WireClient> {
  const wire = await WireClient.open(target.port, target.host);
  wires.push(wire);
  return wire;
}

async function openGreeted(target: Sink): Promise<WireClient> {
  const { wire } = await greeted(target.port, target.host);
  wires.push(wire);
  return wire;
}

describe('maxConnections', () => {
  it('serves N connections and refuses connection N+1 with 421 4.7.0, then closes it', async () => {
    sink = await startSink({ maxConnections: 2 });
    const first = await open(sink);
    const second = await open(sink);
    await first.expect(220);
    await second.expect(220);

    const third = await open(sink);
    const refusal = await third.reply();
    await third.waitClosed();

    expect(refusal.last).toMatch(/^421 4\.7\.0 .*maxConnections/);
    expect(await first.command('NOOP')).toMatchObject({ code: 250 });
    expect(await second.command('NOOP')).toMatchObject({ code: 250 });
    expect(sink.stats()).toMatchObject({ connections: 3, refusedConnections: 1, activeConnections: 2 });
  });

  it('makes room again once a connection ends', async () => {
    sink = await startSink({ maxConnections: 1 });
    const first = await open(sink);
    await first.expect(220);
    const gone = nextEvent(sink, 'disconnect');
    await first.command('QUIT');
    await gone;

    const next = await open(sink);

    expect((await next.reply()).code).toBe(220);
    expect(sink.stats().refusedConnections).toBe(0);
  });
});

describe('idleTimeout', () => {
  it('ends a silent session with 421 4.4.2 and closes it', async () => {
    sink = await startSink({ idleTimeout: 300 });
    const wire = await open(sink);
    await wire.expect(220);

    const goodbye = await wire.reply();
    await wire.waitClosed();

    expect(goodbye.last).toMatch(/^421 4\.4\.2 Idle for 0\.3 s.*idleTimeout/);
    expect(sink.stats().activeConnections).toBe(0);
  });

  it('does not count a transaction the idle timeout cut off in DATA', async () => {
    sink = await startSink({ idleTimeout: 300 });
    const wire = await openGreeted(sink);
    await wire.command('MAIL FROM:<a@example.test>');
    await wire.command('RCPT TO:<b@example.test>');
    await wire.command('DATA');
    wire.write('Subject: never finished\r\n\r\nhalf a mess');

    const goodbye = await wire.reply();
    await wire.waitClosed();

    expect(goodbye.code).toBe(421);
    expect(sink.accepted).toBe(0);
    expect(sink.stats()).toMatchObject({ accepted: 0, transactions: 1 });
  });
});

describe('maxRecipients', () => {
  it('accepts N recipients, answers recipient N+1 with 452 4.5.3, and delivers to the N', async () => {
    sink = await startSink({ maxRecipients: 2 });
    const wire = await openGreeted(sink);

    const result = await transaction(wire, {
      from: 'a@example.test',
      to: ['one@example.test', 'two@example.test', 'three@example.test'],
      data: 'Subject: three\r\n\r\nbody\r\n',
    });
    const [record] = await sink.waitFor(1);

    expect(result.recipients.map((r) => r.code)).toEqual([250, 250, 452]);
    expect(result.recipients[2]?.last).toMatch(/^452 4\.5\.3 .*maxRecipients/);
    expect(result.final?.code).toBe(250);
    expect(record?.recipients).toEqual(['one@example.test', 'two@example.test']);
    expect(sink.stats()).toMatchObject({ recipientsAccepted: 2, recipientsRejected: 1 });
  });
});

describe('maxMessageSize', () => {
  it('advertises the limit as SIZE in the EHLO reply', async () => {
    sink = await startSink({ maxMessageSize: 1000 });
    const { wire, ehlo } = await greeted(sink.port);
    wires.push(wire);

    expect(ehlo.lines).toContain('250-SIZE 1000');
  });

  it('accepts a declared SIZE at the limit and refuses one octet over with 552 at MAIL', async () => {
    sink = await startSink({ maxMessageSize: 1000 });
    const wire = await openGreeted(sink);

    const atLimit = await wire.command('MAIL FROM:<a@example.test> SIZE=1000');
    await wire.command('RSET');
    const over = await wire.command('MAIL FROM:<a@example.test> SIZE=1001');

    expect(atLimit.code).toBe(250);
    expect(over.last).toMatch(/^552 5\.3\.4 .*maxMessageSize/);
  });

  it('accepts an undeclared message of exactly the limit', async () => {
    sink = await startSink({ maxMessageSize: 1000 });
    const wire = await openGreeted(sink);

    const result = await transaction(wire, {
      from: 'a@example.test',
      to: ['b@example.test'],
      data: messageOfSize(1000),
    });

    expect(result.final?.code).toBe(250);
    expect(sink.deliveries()[0]?.size).toBe(1000);
  });

  it('refuses an undeclared message one octet over the limit with 552 5.3.4 after the data, and counts it rejected', async () => {
    sink = await startSink({ maxMessageSize: 1000 });
    const wire = await openGreeted(sink);

    const result = await transaction(wire, {
      from: 'a@example.test',
      to: ['b@example.test'],
      data: messageOfSize(1001),
    });
    const after = await wire.command('NOOP');

    expect(result.data?.code).toBe(354);
    expect(result.final?.last).toMatch(/^552 5\.3\.4 .*maxMessageSize/);
    expect(after.code).toBe(250);
    expect(sink.stats()).toMatchObject({ accepted: 0, rejected: 1, acceptedBytes: 0 });
  });

  it('keeps the session usable after an oversize message far beyond the limit', async () => {
    sink = await startSink({ maxMessageSize: 1000 });
    const wire = await openGreeted(sink);

    const big = await transaction(wire, {
      from: 'a@example.test',
      to: ['b@example.test'],
      data: messageOfSize(200_000),
    });
    const small = await transaction(wire, { from: 'a@example.test', to: ['b@example.test'], data: messageOfSize(500) });

    expect(big.final?.code).toBe(552);
    expect(small.final?.code).toBe(250);
    expect(sink.accepted).toBe(1);
  });
});
