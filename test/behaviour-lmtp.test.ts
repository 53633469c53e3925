import type { Sink } from '@mailhole/core';
import { afterEach, describe, expect, it } from 'vitest';
import { WireClient } from './support/smtp-wire.js';
import { sinkForTest } from './support/tls-clients.js';

let wire: WireClient | undefined;
afterEach(() => {
  wire?.destroy();
  wire = undefined;
});

async function open(sink: Sink): Promise<WireClient> {
  wire = await WireClient.open(sink.port);
  await wire.expect(220);
  return wire;
}

describe('LMTP (RFC 2033): one final reply per recipient', () => {
  it('some recipients accepted, some bounced: each gets its own reply, in RCPT order', async () => {
    const sink = await sinkForTest({
      lmtp: true,
      faults: [{ stage: 'message', match: { recipient: 'full-*@sink.test' }, action: '452 4.2.2 Mailbox full' }],
    });
    const w = await open(sink);
    expect((await w.command('LHLO wire.test')).code).toBe(250);
    await w.command('MAIL FROM:<app@client.test>');
    for (const to of ['one@sink.test', 'full-two@sink.test', 'three@sink.test']) await w.command(`RCPT TO:<${to}>`);
    await w.command('DATA');

    w.write('Subject: lmtp\r\n\r\nHello.\r\n.\r\n');
    const finals = [await w.reply(), await w.reply(), await w.reply()];
    const [record] = await sink.waitFor(1);

    expect(finals.map((r) => r.last)).toEqual([
      expect.stringMatching(/^250 2\.0\.0 /),
      '452 4.2.2 Mailbox full',
      expect.stringMatching(/^250 2\.0\.0 /),
    ]);
    expect(record?.recipients).toEqual(['one@sink.test', 'three@sink.test']);
    expect(record?.lmtpReplies?.map((r) => [r.address, r.reply.code])).toEqual([
      ['one@sink.test', 250],
      ['full-two@sink.test', 452],
      ['three@sink.test', 250],
    ]);
  });

  it('bounce mode on an LMTP listener picks a reply for each recipient', async () => {
    const sink = await sinkForTest({ lmtp: true, listeners: { lmtp: { mode: 'bounce' } } });
    const w = await open(sink);
    await w.command('LHLO wire.test');
    await w.command('MAIL FROM:<app@client.test>');
    await w.command('RCPT TO:<a@sink.test>');
    await w.command('RCPT TO:<b@sink.test>');
    await w.command('DATA');

    w.write('Subject: lmtp\r\n\r\nHello.\r\n.\r\n');
    const finals = [await w.reply(), await w.reply()];

    expect(finals.every((r) => r.code >= 400)).toBe(true);
    expect(sink.stats()).toMatchObject({ accepted: 0, rejected: 1 });
  });
});

describe('lenient mode', () => {
  it('accepts MAIL before EHLO, like the black-hole MTA', async () => {
    const sink = await sinkForTest({ lenient: true });
    const w = await open(sink);

    const mail = await w.command('MAIL FROM:<early@client.test>');
    await w.command('RCPT TO:<a@sink.test>');
    await w.command('DATA');
    const final = await w.command('Subject: early\r\n\r\nHi.\r\n.');

    expect(mail.code).toBe(250);
    expect(final.code).toBe(250);
    expect(sink.deliveries()[0]?.sender).toBe('early@client.test');
  });

  it('a strict sink (the default) refuses MAIL before EHLO with 503', async () => {
    const sink = await sinkForTest({});
    const w = await open(sink);

    expect((await w.command('MAIL FROM:<early@client.test>')).last).toMatch(/^503 5\.5\.1 /);
  });
});
