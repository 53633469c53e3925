import { type FaultFiring, type Sink, startSink } from '@mailhole/core';
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { WireClient } from './support/smtp-wire.js';
import { sinkForTest, transportForTest } from './support/tls-clients.js';
import { nextEvent } from './support/within.js';

const letter = { from: 'app@client.test', to: 'user@sink.test', subject: 'fault test', text: 'Hello.' };

/** A plaintext nodemailer transport to `sink` (no STARTTLS), closed when the test ends. */
function transport(sink: Sink, options: SMTPTransport.Options = {}): Transporter<SMTPTransport.SentMessageInfo> {
  return transportForTest(sink, { ignoreTLS: true, ...options });
}

/** The error nodemailer rejected with (the test fails if it resolved). */
async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected the send to fail, but it succeeded');
}

/** What an application's retry loop does: try again on a 4xx, give up on a 5xx or after `attempts`. */
async function sendWithRetries(t: Transporter, attempts: number, backoffMs: number) {
  const errors: Array<{ code: unknown; response: unknown }> = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const info = await t.sendMail(letter);
      return { info, errors };
    } catch (error) {
      const e = error as { responseCode?: number; response?: string };
      errors.push({ code: e.responseCode, response: e.response });
      if (e.responseCode === undefined || e.responseCode >= 500) break;
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
    }
  }
  return { info: undefined, errors };
}

describe('fault injection, seen by nodemailer', () => {
  it('failNext(451): the next message fails with 451 4.3.0 and the one after is accepted', async () => {
    const sink = await sinkForTest({});
    const t = transport(sink);
    sink.faults.failNext(451);

    const error = await failure(t.sendMail(letter));
    const next = await t.sendMail(letter);

    expect(error.responseCode).toBe(451);
    expect(error.response).toBe('451 4.3.0 Requested action aborted: local error in processing');
    expect(next.response).toMatch(/^250 2\.0\.0 /);
    expect(sink.stats()).toMatchObject({ accepted: 1, rejected: 1, faults: 1 });
  });

  it('the fault that failed a message is recorded with its delivery', async () => {
    const sink = await sinkForTest({});
    sink.faults.failNext(554, { text: 'Rejected for the test' });

    await failure(transport(sink).sendMail(letter));
    const [record] = sink.deliveries({ includeRejected: true });

    expect(record?.accepted).toBe(false);
    expect(record?.reply).toEqual({ code: 554, enhanced: '5.0.0', text: 'Rejected for the test' });
    expect(record?.faults).toEqual([
      { rule: 'fault-1', stage: 'message', action: 'reply 554 5.0.0 Rejected for the test', at: expect.any(Number) },
    ]);
  });

  it('greylisting: the first send fails 451 4.7.1, the retry is accepted, and the record shows both', async () => {
    const sink = await sinkForTest({});
    sink.faults.greylist();

    const { info, errors } = await sendWithRetries(transport(sink), 3, 50);

    expect(errors).toEqual([{ code: 451, response: '451 4.7.1 Greylisted: please try again later' }]);
    expect(info?.response).toMatch(/^250 /);
    expect(sink.faults.fired()).toEqual([
      expect.objectContaining({ stage: 'rcpt', sender: letter.from, recipient: letter.to }),
    ]);
    expect(sink.stats()).toMatchObject({ accepted: 1, faults: 1, recipientsRejected: 1 });
  });

  it('greylisting with retryAfterMs: a sender that backs off long enough gets through, and the gap is on record', async () => {
    const sink = await sinkForTest({});
    sink.faults.greylist({ retryAfterMs: 300 });

    const { info, errors } = await sendWithRetries(transport(sink), 20, 100);
    const fired = sink.faults.fired();
    const [delivered] = sink.deliveries();

    expect(info?.response).toMatch(/^250 /);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(fired).toHaveLength(errors.length);
    expect((delivered?.time ?? 0) - (fired[0] as FaultFiring).at).toBeGreaterThanOrEqual(300);
  });

  it('a sender that gives up on a 5xx shows one firing and no delivery', async () => {
    const sink = await sinkForTest({});
    sink.faults.failNext(550, { count: 10 });

    const { info, errors } = await sendWithRetries(transport(sink), 5, 10);

    expect(info).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(sink.faults.fired()).toHaveLength(1);
    expect(sink.accepted).toBe(0);
  });

  it('bounceRecipient refuses that recipient at RCPT and the others get the message', async () => {
    const sink = await sinkForTest({});
    sink.faults.bounceRecipient('gone@sink.test');

    const info = await transport(sink).sendMail({ ...letter, to: ['user@sink.test', 'gone@sink.test'] });
    const [record] = await sink.waitFor(1);

    expect(info.rejected).toEqual(['gone@sink.test']);
    expect(info.rejectedErrors?.[0]).toMatchObject({
      response: '550 5.1.1 Requested action not taken: mailbox unavailable',
    });
    expect(record?.recipients).toEqual(['user@sink.test']);
    expect(record?.rejectedRecipients.map((r) => r.address)).toEqual(['gone@sink.test']);
  });

  it('disconnect at MAIL: nodemailer sees 421 and the connection is closed', async () => {
    const sink = await sinkForTest({});
    sink.faults.disconnect('mail');

    const error = await failure(transport(sink).sendMail(letter));

    expect(error.responseCode).toBe(421);
    expect(error.response).toBe('421 4.3.0 Service not available, closing transmission channel');
  });

  it('close without a reply at RCPT: nodemailer sees the connection close unexpectedly', async () => {
    const sink = await sinkForTest({ faults: [{ stage: 'rcpt', action: 'close', times: 1 }] });

    const error = await failure(transport(sink).sendMail(letter));

    expect(error.code).toBe('ECONNECTION');
    expect(sink.accepted).toBe(0);
  });

  it('a TCP reset at the end of data: nodemailer sees ECONNRESET and nothing is counted', async () => {
    const sink = await sinkForTest({ faults: [{ stage: 'message', action: 'reset' }] });

    const error = await failure(transport(sink).sendMail(letter));

    expect(error.message).toMatch(/ECONNRESET/);
    expect(sink.stats()).toMatchObject({ accepted: 0, rejected: 0, faults: 1 });
  });

  it('a greeting reply of 554 makes nodemailer fail before it says EHLO', async () => {
    const sink = await sinkForTest({ faults: [{ stage: 'greeting', action: '554 5.3.2 No service for you' }] });

    const error = await failure(transport(sink).sendMail(letter));

    expect(error.responseCode).toBe(554);
    expect(String(error.response)).toContain('554 5.3.2 No service for you');
  });

  it('a throttled connection reads at most the given octets per second', async () => {
    const sink = await sinkForTest({});
    sink.faults.add({ stage: 'greeting', action: { type: 'throttle', bytesPerSecond: 4000 } });
    const t = transport(sink, { pool: true, maxConnections: 1 });
    const text = 'x'.repeat(70).concat('\r\n').repeat(100);

    const started = Date.now();
    await t.sendMail({ ...letter, text });
    await t.sendMail({ ...letter, text });

    // The second message's commands are read only after the first message's octets were paid for.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1700);
    expect(sink.accepted).toBe(2);
  });

  it('every firing is announced on the "fault" event with its connection', async () => {
    const sink = await sinkForTest({});
    sink.faults.add({ name: 'slow-rcpt', stage: 'rcpt', action: { type: 'delay', ms: 10 } });
    const event = nextEvent<Record<string, unknown>>(sink, 'fault');

    await transport(sink).sendMail(letter);

    expect(await event).toMatchObject({ rule: 'slow-rcpt', stage: 'rcpt', action: 'delay 10 ms', connectionId: 1 });
  });

  it('two sinks running at once keep their rules to themselves', async () => {
    const failing = await sinkForTest({});
    const passing = await sinkForTest({});
    failing.faults.failNext(452, { count: 100 });
    const send = (sink: Sink) => Promise.allSettled(Array.from({ length: 5 }, () => transport(sink).sendMail(letter)));

    const [a, b] = await Promise.all([send(failing), send(passing)]);

    expect(a.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
    expect(b.map((r) => r.status)).toEqual(Array(5).fill('fulfilled'));
    expect(failing.faults.fired()).toHaveLength(5);
    expect(passing.faults.fired()).toHaveLength(0);
    expect(passing.stats()).toMatchObject({ accepted: 5, faults: 0 });
  });
});

describe('fault injection, seen on the wire', () => {
  let wire: WireClient | undefined;
  let sink: Sink | undefined;
  afterEach(async () => {
    wire?.destroy();
    await sink?.close();
    wire = undefined;
    sink = undefined;
  });

  it('stall mid-DATA: the sink stops reading after N octets and the message is never accepted', async () => {
    sink = await startSink({ idleTimeout: 1500 });
    sink.faults.add({ stage: 'data', action: { type: 'stall', afterBytes: 40 } });
    wire = await WireClient.open(sink.port);
    await wire.expect(220);
    await wire.command('EHLO wire.test');
    await wire.command('MAIL FROM:<a@client.test>');
    await wire.command('RCPT TO:<b@sink.test>');

    expect((await wire.command('DATA')).code).toBe(354);
    wire.write(`Subject: stalled\r\n\r\n${'y'.repeat(500)}\r\n.\r\n`);
    const reply = await wire.reply(10_000);

    expect(reply.last).toMatch(/^421 4\.4\.2 Idle for /);
    expect(sink.stats()).toMatchObject({ accepted: 0, faults: 1 });
  });

  it('a rule added while a session is open applies to its next stage, and removing it restores the default', async () => {
    sink = await startSink();
    wire = await WireClient.open(sink.port);
    await wire.expect(220);
    await wire.command('EHLO wire.test');

    const rule = sink.faults.add({ stage: 'mail', action: '451 4.7.0 Try later' });
    const refused = await wire.command('MAIL FROM:<a@client.test>');
    rule.remove();
    const accepted = await wire.command('MAIL FROM:<a@client.test>');

    expect(refused.last).toBe('451 4.7.0 Try later');
    expect(accepted.last).toBe('250 2.1.0 Sender OK');
  });

  it('a header rule fails only the messages carrying that header', async () => {
    sink = await startSink({ faults: [{ stage: 'message', match: { header: 'X-Case: reject' }, action: '550' }] });
    wire = await WireClient.open(sink.port);
    await wire.expect(220);
    await wire.command('EHLO wire.test');
    const send = async (headers: string) => {
      await wire?.command('MAIL FROM:<a@client.test>');
      await wire?.command('RCPT TO:<b@sink.test>');
      await wire?.command('DATA');
      return (await (wire as WireClient).command(`${headers}Subject: x\r\n\r\nX-Case: reject\r\n.`)).code;
    };

    expect([await send('X-Case: reject\r\n'), await send(''), await send('X-Case: accept\r\n')]).toEqual([
      550, 250, 250,
    ]);
  });
});
