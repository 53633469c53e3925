import { type Sink, startSink } from '@mailhole/core';
import { describe, expect, it } from 'vitest';
import { sinkForTest, transportForTest } from '../../../test/support/tls-clients.js';
import type { ConnectionInfo, Delivery } from '../src/protocol/types.js';
import { CaptureStore } from '../src/record/capture.js';
import type { CaptureCounter } from '../src/record/recorder.js';
import type { DeliveryRecord } from '../src/record/records.js';

/** Sends `raw` as it is (CRLF line ends kept) with the given envelope; resolves after the 250. */
async function sendRaw(target: Sink, raw: string | Buffer, to = 'rcpt@test.example', from = 'sender@test.example') {
  await transportForTest(target).sendMail({ envelope: { from, to: [to] }, raw });
}

function letter(subject: string, body: string, extraHeaders = ''): string {
  return `From: sender@test.example\r\nTo: rcpt@test.example\r\nSubject: ${subject}\r\n${extraHeaders}\r\n${body}`;
}

describe('full capture', () => {
  it('keeps the exact octets of a message, with dot-stuffed lines restored', async () => {
    const target = await sinkForTest({ capture: 'full' });
    const raw = Buffer.from(
      letter('exact', '.a line that starts with a dot\r\n..two dots\r\nbytes \xe9\xff\r\n'),
      'latin1',
    );

    await sendRaw(target, raw);

    const [message] = target.messages();
    expect(message?.raw.equals(raw)).toBe(true);
    expect(message?.size).toBe(raw.length);
    expect(message?.record.size).toBe(raw.length);
    expect(target.message(message?.id as string)).toBe(message);
  });

  it('drops the oldest messages past maxRecords and counts them as evicted', async () => {
    const target = await sinkForTest({ capture: 'full', maxRecords: 3 });
    for (let i = 1; i <= 5; i++) await sendRaw(target, letter(`message ${i}`, `body ${i}\r\n`));

    const kept = target.messages();
    expect(kept.map((m) => m.record.subject)).toEqual(['message 3', 'message 4', 'message 5']);
    expect(target.stats()).toMatchObject({ accepted: 5, capturedMessages: 3, evictedMessages: 2, evictedRecords: 2 });
  });

  it('drops the oldest messages past maxCaptureBytes and counts their octets', async () => {
    const body = `${'x'.repeat(998)}\r\n`;
    const first = letter('one', body);
    const target = await sinkForTest({ capture: 'full', maxCaptureBytes: Math.floor(first.length * 2.5) });

    await sendRaw(target, first);
    await sendRaw(target, letter('two', body));
    await sendRaw(target, letter('six', body));

    const stats = target.stats();
    expect(target.messages().map((m) => m.record.subject)).toEqual(['two', 'six']);
    expect(stats).toMatchObject({ accepted: 3, capturedMessages: 2, evictedMessages: 1, evictedBytes: first.length });
    expect(stats.capturedBytes).toBeLessThanOrEqual(first.length * 2.5);
    // The envelope records stay: only the content went.
    expect(target.deliveries()).toHaveLength(3);
  });

  it('accepts and counts a message larger than the byte budget without keeping its content', async () => {
    const target = await sinkForTest({ capture: 'full', maxCaptureBytes: 1000 });
    const big = letter('too big to keep', `${'y'.repeat(900)}\r\n`.repeat(5));

    await sendRaw(target, big);

    expect(target.accepted).toBe(1);
    expect(target.messages()).toEqual([]);
    expect(target.stats()).toMatchObject({ capturedMessages: 0, capturedBytes: 0, uncapturedMessages: 1 });
    // Its header section is still read, so filters on it keep working.
    expect(target.deliveries({ subject: 'too big' })).toHaveLength(1);
  });

  it('reads subject and headers from the message so filters by them work', async () => {
    const target = await sinkForTest({ capture: 'full' });
    await sendRaw(target, letter('Order shipped', 'hi\r\n', 'X-Test-Id: 42\r\n'));
    await sendRaw(target, letter('=?UTF-8?B?R3LDvMOfZQ==?=', 'hi\r\n', 'X-Test-Id: 43\r\n'));

    expect(target.deliveries({ subject: 'shipped' }).map((r) => r.subject)).toEqual(['Order shipped']);
    expect(target.deliveries({ header: { name: 'X-Test-Id', value: '43' } }).map((r) => r.subject)).toEqual(['Grüße']);
    expect(target.messages({ header: { name: 'x-test-id' } })).toHaveLength(2);
    expect(target.messages({ subject: 'Grüße' })[0]?.record.headers?.['x-test-id']).toEqual(['43']);
  });

  it('filters kept messages by envelope recipient and sender', async () => {
    const target = await sinkForTest({ capture: 'full' });
    await sendRaw(target, letter('to alice', 'a\r\n'), 'alice@test.example', 'shop@test.example');
    await sendRaw(target, letter('to bob', 'b\r\n'), 'bob@test.example', 'bank@test.example');

    expect(target.messages({ to: 'bob@TEST.example' }).map((m) => m.record.subject)).toEqual(['to bob']);
    expect(target.messages({ to: 'BOB@test.example' })).toEqual([]); // local parts compare as sent
    expect(target.messages({ from: 'shop@test.example' }).map((m) => m.record.subject)).toEqual(['to alice']);
    expect(target.messages((r) => r.recipients.includes('alice@test.example'))).toHaveLength(1);
  });

  it('keeps no content with the default envelope capture', async () => {
    const target = await sinkForTest({});
    await sendRaw(target, letter('envelope only', 'body\r\n'));

    const [record] = target.deliveries();
    expect(target.messages()).toEqual([]);
    expect(target.message(record?.id as string)).toBeUndefined();
    expect(target.stats().capturedMessages).toBe(0);
  });

  it('forgets kept messages and zeroes the capture counters on reset', async () => {
    const target = await sinkForTest({ capture: 'full', maxRecords: 1 });
    await sendRaw(target, letter('first', 'a\r\n'));
    await sendRaw(target, letter('second', 'b\r\n'));

    target.reset();

    expect(target.messages()).toEqual([]);
    expect(target.stats()).toMatchObject({
      capturedMessages: 0,
      capturedBytes: 0,
      evictedMessages: 0,
      evictedBytes: 0,
    });
    await sendRaw(target, letter('third', 'c\r\n'));
    expect(target.messages().map((m) => m.record.subject)).toEqual(['third']);
    expect(target.stats().capturedMessages).toBe(1);
  });

  it('refuses a maxCaptureBytes below 1, naming the option', async () => {
    await expect(startSink({ capture: 'full', maxCaptureBytes: 0 })).rejects.toThrow(/"maxCaptureBytes"/);
  });
});

describe('the capture store while messages stream in', () => {
  const connection = (id: number): ConnectionInfo => ({
    id,
    remoteAddress: '127.0.0.1',
    remotePort: 40000 + id,
    localPort: 25,
    listener: 'smtp',
  });
  const counters = (): { counts: Record<string, number>; count: (c: CaptureCounter, d: number) => void } => {
    const counts: Record<string, number> = {};
    return { counts, count: (c, d) => (counts[c] = (counts[c] ?? 0) + d) };
  };
  const finish = (store: CaptureStore, id: string, writer: unknown, size: number) => {
    const record = { id, seq: 1, accepted: true, sender: 's@x', recipients: ['r@x'] } as DeliveryRecord;
    store.delivered(record, { accepted: true, size, writer } as unknown as Delivery);
    return record;
  };

  it('counts messages still arriving against the budget, so concurrent ones cannot exceed it', () => {
    const { counts, count } = counters();
    const store = new CaptureStore({ maxMessages: 10, maxBytes: 1000, maxMessageSize: 0 }, count);
    const first = store.writer(connection(1));
    const second = store.writer(connection(2));

    first.write(Buffer.alloc(600, 'a'));
    second.write(Buffer.alloc(600, 'b'));
    finish(store, 'one', first, 600);
    finish(store, 'two', second, 600);

    expect(store.message('one')?.size).toBe(600);
    expect(store.message('two')).toBeUndefined();
    expect(counts).toMatchObject({ capturedMessages: 1, capturedBytes: 600, uncapturedMessages: 1 });
  });

  it('gives the octets of an abandoned message back to the budget when its connection closes', () => {
    const { counts, count } = counters();
    const store = new CaptureStore({ maxMessages: 10, maxBytes: 1000, maxMessageSize: 0 }, count);
    store.writer(connection(1)).write(Buffer.alloc(900, 'a'));
    store.connectionClosed(1);

    const next = store.writer(connection(2));
    next.write(Buffer.alloc(900, 'b'));
    finish(store, 'next', next, 900);

    expect(store.message('next')?.raw.equals(Buffer.alloc(900, 'b'))).toBe(true);
    expect(counts.uncapturedMessages).toBeUndefined();
  });

  it('copies each chunk, so a reused socket buffer cannot change a kept message', () => {
    const store = new CaptureStore({ maxMessages: 10, maxBytes: 1000, maxMessageSize: 0 }, counters().count);
    const writer = store.writer(connection(1));
    const chunk = Buffer.from('Subject: hi\r\n\r\nbody\r\n');

    writer.write(chunk);
    chunk.fill(0);
    finish(store, 'copy', writer, chunk.length);

    expect(store.message('copy')?.raw.toString()).toBe('Subject: hi\r\n\r\nbody\r\n');
  });
});
