import { connectSink, type Sink, startSink } from '@mailhole/core';
import { mailholeMatchers } from '@mailhole/vitest';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { WireClient } from './support/smtp-wire.js';

// Internationalised domains compare in one normal form (IDNA), local parts as sent. nodemailer
// sends `user@例子.test` as `user@xn--fsqu00a.test`; an SMTPUTF8 client may send the Unicode
// spelling itself. Either way, a test may name the address in either spelling.

expect.extend(mailholeMatchers);

const unicode = 'user@例子.test';
const ascii = 'user@xn--fsqu00a.test';
const sinks: Sink[] = [];

afterEach(async () => {
  await Promise.all(sinks.splice(0).map((sink) => sink.close()));
});

async function sink(options: Parameters<typeof startSink>[0] = {}): Promise<Sink> {
  const started = await startSink(options);
  sinks.push(started);
  return started;
}

async function sendWithNodemailer(target: Sink, to: string): Promise<void> {
  const transport = nodemailer.createTransport({ host: target.host, port: target.port, ignoreTLS: true });
  try {
    await transport.sendMail({ from: 'app@example.test', to, subject: 'IDN', text: 'hello' });
  } finally {
    transport.close();
  }
}

/** Sends with SMTPUTF8 over a raw socket, so the envelope keeps the Unicode domain. */
async function sendUtf8(target: Sink, to: string): Promise<void> {
  const wire = await WireClient.open(target.port);
  try {
    await wire.expect(220);
    await wire.command('EHLO client.test');
    expect((await wire.command('MAIL FROM:<app@example.test> SMTPUTF8')).code).toBe(250);
    expect((await wire.command(`RCPT TO:<${to}>`)).code).toBe(250);
    expect((await wire.command('DATA')).code).toBe(354);
    expect((await wire.command('Subject: IDN\r\n\r\nhello\r\n.')).code).toBe(250);
    await wire.command('QUIT');
  } finally {
    wire.destroy();
  }
}

describe('IDN: nodemailer sends the ASCII (xn--) spelling', () => {
  it('nodemailer puts the domain of user@例子.test on the wire as xn--fsqu00a.test', async () => {
    const s = await sink();

    await sendWithNodemailer(s, unicode);

    expect(s.deliveries()[0]?.recipients).toEqual([ascii]);
  });

  it.each([unicode, ascii, 'user@XN--FSQU00A.TEST'])('waitFor({ to: %j }) finds it', async (to) => {
    const s = await sink();

    await sendWithNodemailer(s, unicode);
    const found = await s.waitFor({ to }, { timeout: 2000 });

    expect(found).toHaveLength(1);
  });

  it.each([unicode, ascii])(
    'toHaveReceivedMailTo(%j) passes, deliveries({ to }) and view({ to }) see it',
    async (to) => {
      const s = await sink();
      const view = s.view({ to });

      await sendWithNodemailer(s, unicode);
      await s.waitFor(1);

      expect(s).toHaveReceivedMailTo(to);
      expect(s.deliveries({ to })).toHaveLength(1);
      expect(view.accepted).toBe(1);
    },
  );

  it.each([unicode, ascii])('the control API query ?to=%s and the remote waitFor find it', async (to) => {
    const s = await sink({ api: true });
    const remote = await connectSink(s.apiUrl as string);

    await sendWithNodemailer(s, unicode);
    const viaQuery = (await fetch(`${s.apiUrl}/api/deliveries?to=${encodeURIComponent(to)}`).then((r) => r.json())) as {
      deliveries: unknown[];
    };
    const viaWait = await remote.waitFor({ to }, { timeout: 2000 });

    expect(viaQuery.deliveries).toHaveLength(1);
    expect(viaWait).toHaveLength(1);
  });

  it.each(['*@例子.test', '*@xn--fsqu00a.test', /@例子\.test$/])(
    'a fault rule for recipient %s bounces the mail',
    async (recipient) => {
      const s = await sink();
      s.faults.add({ stage: 'rcpt', match: { recipient }, action: '550 5.1.1 No such user' });

      await expect(sendWithNodemailer(s, unicode)).rejects.toMatchObject({ responseCode: 550 });
      expect(s.accepted).toBe(0);
    },
  );
});

describe('IDN: an SMTPUTF8 client sends the Unicode spelling', () => {
  it.each([unicode, ascii])('waitFor({ to: %j }), deliveries and the matcher find it', async (to) => {
    const s = await sink();

    await sendUtf8(s, unicode);
    const found = await s.waitFor({ to }, { timeout: 2000 });

    expect(found[0]?.recipients).toEqual([unicode]);
    expect(s.deliveries({ to })).toHaveLength(1);
    expect(s).toHaveReceivedMailTo(to);
  });
});

describe('local parts compare as sent', () => {
  it('User@ and user@ are different mailboxes; the domain still compares in any case', async () => {
    const s = await sink();

    await sendWithNodemailer(s, 'User@Example.TEST');
    await s.waitFor(1);

    expect(s.deliveries({ to: 'User@example.test' })).toHaveLength(1);
    expect(s.deliveries({ to: 'user@example.test' })).toHaveLength(0);
  });
});
