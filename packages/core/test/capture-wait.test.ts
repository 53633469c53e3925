import { type Sink, WaitTimeoutError } from '@mailhole/core';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { describe, expect, it } from 'vitest';
import { sinkForTest, transportForTest } from '../../../test/support/tls-clients.js';

function fullSink(): Promise<Sink> {
  return sinkForTest({ capture: 'full' });
}

function send(target: Sink, mail: Mail.Options) {
  return transportForTest(target).sendMail({ from: 'app@test.example', to: 'user@test.example', text: 'x', ...mail });
}

describe('waitFor on captured messages', () => {
  it('waits for a subject, past deliveries that do not match', async () => {
    const target = await fullSink();
    const waiting = target.waitFor({ subject: 'Reset your password' }, { timeout: 10_000 });

    await send(target, { subject: 'Welcome' });
    await send(target, { subject: 'Reset your password now' });

    const [match] = await waiting;
    expect(match?.subject).toBe('Reset your password now');
    expect(target.accepted).toBe(2);
  });

  it('waits for a header with a value', async () => {
    const target = await fullSink();
    const waiting = target.waitFor({ header: { name: 'X-Request-Id', value: 'req-2' } }, { timeout: 10_000 });

    await send(target, { subject: 'a', headers: { 'X-Request-Id': 'req-1' } });
    await send(target, { subject: 'b', headers: { 'X-Request-Id': 'req-2' } });

    expect((await waiting).map((r) => r.subject)).toEqual(['b']);
  });

  it('waits for two deliveries to one recipient while others get mail too', async () => {
    const target = await fullSink();
    const waiting = target.waitFor({ to: 'bob@test.example' }, { count: 2, timeout: 10_000 });

    await send(target, { to: 'bob@test.example', subject: 'one' });
    await send(target, { to: 'eve@test.example', subject: 'other' });
    await send(target, { to: 'bob@test.example', subject: 'two' });

    expect((await waiting).map((r) => r.subject)).toEqual(['one', 'two']);
  });

  it('waits for a predicate over the record the capture filled in', async () => {
    const target = await fullSink();
    const waiting = target.waitFor((r) => r.headers?.['x-priority']?.[0] === '1 (Highest)', { timeout: 10_000 });

    await send(target, { subject: 'normal' });
    await send(target, { subject: 'urgent', priority: 'high' });

    expect((await waiting).map((r) => r.subject)).toEqual(['urgent']);
    expect((await target.messages((r) => r.subject === 'urgent')[0]?.parsed())?.subject).toBe('urgent');
  });

  it('times out naming the filter and listing what arrived', async () => {
    const target = await fullSink();
    await send(target, { subject: 'Welcome' });

    const error = await target.waitFor({ subject: 'Invoice' }, { timeout: 200 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toContain('0 of 1 matching deliveries ({"subject":"Invoice"})');
    expect((error as Error).message).toContain('accepted from <app@test.example> to user@test.example');
  });
});
