import {
  connectSink,
  type Live,
  type MailSink,
  type MailSinkView,
  type Sink,
  type SinkFaultHandle,
  startSink,
  WaitTimeoutError,
} from '@mailhole/core';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

/**
 * One contract, two kinds of sink: every test here runs against an in-process `Sink` and against a
 * `RemoteSink` reaching the same kind of sink through its control API. A test reads through the
 * `MailSink` interface only and awaits every read, so it says the same thing of both.
 */

interface Kind {
  name: string;
  open(sink: Sink): Promise<MailSink>;
}

const kinds: Kind[] = [
  { name: 'in-process Sink', open: async (sink) => sink },
  { name: 'RemoteSink (connectSink)', open: (sink) => connectSink(sink.apiUrl) },
];

/** Reads a live value: a property in-process, a method remotely. */
async function live<O extends object, K extends keyof O>(owner: O, key: K): Promise<unknown> {
  const value = owner[key] as Live<'in-process', unknown> | Live<'remote', unknown>;
  return typeof value === 'function' ? await (value as () => Promise<unknown>).call(owner) : value;
}

describe.each(kinds)('the sink contract: $name', ({ open }) => {
  let local: Sink;
  let sink: MailSink;
  const transports: Array<{ close(): void }> = [];

  beforeAll(async () => {
    local = await startSink({ api: true, capture: 'full' });
    sink = await open(local);
  });

  afterAll(async () => {
    await local?.close();
  });

  beforeEach(async () => {
    await sink.faults.clear();
    await sink.faults.clearFired();
    await sink.reset();
  });

  afterEach(() => {
    for (const transport of transports.splice(0)) transport.close();
  });

  function send(mail: Mail.Options = {}) {
    const transport = nodemailer.createTransport({ host: sink.host, port: sink.port, secure: false });
    transports.push(transport);
    return transport.sendMail({ from: 'app@test.example', to: 'user@test.example', text: 'hello', ...mail });
  }

  it('says where it listens, the same as the sink itself', () => {
    expect(sink.host).toBe(local.host);
    expect(sink.port).toBe(local.port);
    expect(sink.url).toBe(`smtp://${local.host}:${local.port}`);
    expect(sink.tlsPort).toBeUndefined();
    expect(sink.tlsUrl).toBeUndefined();
    expect(sink.ca).toBeUndefined();
    expect(sink.seed).toBe(local.seed);
    expect(() => sink.clientTls()).toThrow(/has no TLS/);
  });

  it('counts accepted deliveries in accepted, stats() and acceptedSince(mark)', async () => {
    const before = await sink.mark();
    await send({ subject: 'one' });
    await send({ subject: 'two' });
    const records = await sink.waitFor(2);

    expect(records.map((r) => r.subject)).toEqual(['one', 'two']);
    expect(await live(sink, 'accepted')).toBe(2);
    expect(await sink.stats()).toMatchObject({ accepted: 2, transactions: 2, recipientsAccepted: 2 });
    expect(await sink.acceptedSince(before)).toBe(2);
  });

  it('lists deliveries by filter and by predicate, and keeps their messages', async () => {
    await send({ to: 'ada@test.example', subject: 'for ada' });
    await send({ to: 'bob@test.example', subject: 'for bob' });
    await sink.waitFor(2);

    const forAda = await sink.deliveries({ to: 'ada@test.example' });
    expect(forAda.map((r) => r.subject)).toEqual(['for ada']);
    expect((await sink.deliveries((r) => r.subject === 'for bob')).map((r) => r.recipients)).toEqual([
      ['bob@test.example'],
    ]);
    const [message] = await sink.messages({ to: 'bob@test.example' });
    expect((await message?.parsed())?.subject).toBe('for bob');
    const byId = await sink.message(forAda[0]?.id as string);
    expect(byId?.record.subject).toBe('for ada');
    expect(await sink.message('no-such-id')).toBeUndefined();
  });

  it('waits for a filter, and times out with a WaitTimeoutError saying what arrived', async () => {
    const waiting = sink.waitFor({ subject: 'awaited' }, { timeout: 10_000 });
    await send({ subject: 'awaited' });
    expect((await waiting).map((r) => r.subject)).toEqual(['awaited']);

    const error = await sink.waitFor(5, { timeout: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).message).toMatch(/^waitFor timed out after 50 ms with 1 of 5 deliveries\.\n/);
    expect(error).toMatchObject({ expected: 5, received: 1 });
  });

  it('gives a per-test view that counts from its mark and within its scope', async () => {
    await send({ subject: 'before the view' });
    await sink.waitFor(1);
    const view: MailSinkView = await sink.view({ to: 'carol@test.example' });
    expect(view.port).toBe(sink.port);
    expect(view.scope).toEqual({ to: 'carol@test.example' });

    await send({ to: 'carol@test.example', subject: 'for carol' });
    await send({ to: 'dave@test.example', subject: 'for dave' });
    expect((await view.waitFor(1)).map((r) => r.subject)).toEqual(['for carol']);
    await sink.waitFor(3);
    expect(await live(view, 'accepted')).toBe(1);
    expect((await view.deliveries()).map((r) => r.subject)).toEqual(['for carol']);

    await view.reset();
    expect(await live(view, 'accepted')).toBe(0);
  });

  it('fires fault rules, counts each firing on its handle, and lists what fired', async () => {
    const handle: SinkFaultHandle = await sink.faults.failNext(451);
    expect(await sink.faults.list()).toHaveLength(1);

    await expect(send({ subject: 'refused' })).rejects.toThrow(/451/);
    await send({ subject: 'accepted' });
    await sink.waitFor(1);

    expect(await live(handle, 'fired')).toBe(1);
    expect(await live(handle, 'active')).toBe(false);
    const fired = await sink.faults.fired({ rule: handle.name });
    expect(fired.map((f) => [f.rule, f.stage])).toEqual([[handle.name, 'message']]);
    expect((await sink.stats()).faults).toBe(1);
    await sink.faults.clearFired();
    expect(await sink.faults.fired()).toEqual([]);
  });

  it('answers as a provider preset does, through the same faults interface', async () => {
    await sink.faults.preset('gmail.unknownUser', { recipient: '*@gone.test' });
    await expect(send({ to: 'nobody@gone.test' })).rejects.toThrow(/550/);
    await send({ subject: 'still accepted' });
    await sink.waitFor(1);
    expect((await sink.faults.fired()).map((f) => f.stage)).toEqual(['rcpt']);
  });

  it('zeroes counts on reset and describes what it saw', async () => {
    await send({ subject: 'counted' });
    await sink.waitFor(1);
    expect(await sink.describe()).toMatch(/1 accepted/);

    await sink.reset();
    expect(await live(sink, 'accepted')).toBe(0);
    expect(await sink.deliveries()).toEqual([]);
  });
});
