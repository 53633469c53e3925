import { bounceReplies, classifyReply, type ProviderPresetName, type Sink, type StartOptions } from '@mailhole/core';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { describe, expect, it } from 'vitest';
import { sinkForTest, transportForTest } from './support/tls-clients.js';

const letter = { from: 'app@sender.test', to: 'someone@gone.test', subject: 'rejection test', text: 'Hello.' };

/** What nodemailer rejected with: the reply line it saw and its code (the test fails if the send succeeded). */
async function refusal(
  sink: Sink,
  mail: Partial<typeof letter> = {},
  options: SMTPTransport.Options = {},
): Promise<{ response: string; responseCode: number; command: string | undefined }> {
  try {
    await transportForTest(sink, { ignoreTLS: true, ...options }).sendMail({ ...letter, ...mail });
  } catch (error) {
    const e = error as { response?: string; responseCode?: number; command?: string };
    if (e.response === undefined) throw error;
    return { response: e.response, responseCode: e.responseCode as number, command: e.command };
  }
  throw new Error('expected the send to be refused, but it was accepted');
}

/**
 * Each provider preset with the exact reply a client sees: the texts are typed out here from the
 * providers' pages (not read back from the catalogue), so a changed preset fails its test.
 */
const providerCases: Array<[ProviderPresetName, string]> = [
  [
    'gmail.unknownUser',
    "550 5.1.1 The email account that you tried to reach does not exist. Please double-check the recipient's email address for typos or unnecessary spaces. For more information, go to Fix bounced or rejected emails. - gsmtp",
  ],
  [
    'gmail.mailboxFull',
    "452 4.2.2 The recipient's inbox is out of storage space. Please direct the recipient to Manage files in your Google Drive storage. - gsmtp",
  ],
  [
    'gmail.overQuota',
    "552 5.2.2 The recipient's inbox is out of storage space and inactive. Please direct the recipient to Manage files in your Google Drive storage. - gsmtp",
  ],
  [
    'gmail.rateLimited',
    '450 4.2.1 The user you are trying to contact is receiving email too quickly. Please resend your message at a later time. If the user is able to receive email at that time, your message will be delivered. For more information, go to Limits for sending & getting email. - gsmtp',
  ],
  [
    'gmail.tryAgainLater',
    '421 4.4.5 Server busy, try again later. For more information, go to About SMTP error messages. - gsmtp',
  ],
  [
    'gmail.messageTooLarge',
    "552 5.3.4 Your message exceeded Google's message size limits. To view our message size guidelines, go to Send attachments with your Gmail message. - gsmtp",
  ],
  [
    'gmail.spfFailed',
    '550 5.7.26 The (E)MAIL FROM domain [sender.test] has an SPF record with a hard fail policy (-all) but it fails to pass SPF checks with the ip: [127.0.0.1]. To best protect our users from spam and phishing, the message has been blocked. For more information, go to Email sender guidelines. - gsmtp',
  ],
  [
    'gmail.dkimFailed',
    "550 5.7.30 This message was blocked because it didn't pass DKIM authentication. Gmail requires bulk email senders to authenticate their email with DKIM. Authentication results: DKIM = did not pass To set up DKIM for your sending domains, visit Set up DKIM. To learn more about Gmail requirements for bulk email senders, visit Email sender guidelines. - gsmtp",
  ],
  [
    'gmail.dmarcRejected',
    "550 5.7.26 Unauthenticated email from sender.test is not accepted due to domain's DMARC policy. Contact the administrator of sender.test domain if this was legitimate email. To learn about the DMARC initiative, go to Control unauthenticated email from your domain. - gsmtp",
  ],
  [
    'gmail.unauthenticated',
    '550 5.7.26 This email has been blocked because the sender is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM. Authentication results: DKIM = did not pass SPF [sender.test] with ip: [127.0.0.1] = did not pass. For instructions on setting up authentication, go to Email sender guidelines. - gsmtp',
  ],
  [
    'gmail.spam',
    '550 5.7.1 This message is likely unsolicited email. To reduce the amount of spam sent to Gmail, this message has been blocked. For more information, go to Why has Gmail blocked my messages? - gsmtp',
  ],
  [
    'gmail.tlsRequired',
    '421 4.7.0 TLS required for RCPT domain, closing connection. For more information, go to Email encryption in transit. - gsmtp',
  ],
  ['microsoft.unknownUser', '550 5.1.10 Recipient not found'],
  ['microsoft.rateLimited', '432 4.3.2 STOREDRV.Deliver; recipient thread limit exceeded'],
  ['microsoft.tryAgainLater', '451 4.7.500 Access denied, please try again later'],
  ['outlook.unknownUser', '550 5.5.0 Requested action not taken: mailbox unavailable'],
  [
    'outlook.unauthenticated',
    '550 5.7.515 Access denied, sending domain [sender.test] does not meet the required authentication level.',
  ],
  [
    'yahoo.unknownUser',
    "554 delivery error: dd This user doesn't have a yahoo.com account (someone@gone.test) [-5] - mta123.mail.mud.yahoo.com",
  ],
  ['yahoo.deferred', '421 4.7.1 [TS03] All messages from 127.0.0.1 permanently deferred'],
];

describe('provider presets, as nodemailer sees them', () => {
  it('covers every preset of the catalogue', () => {
    expect(providerCases.map(([name]) => name).sort()).toEqual(Object.keys(bounceReplies.providers).sort());
  });

  it.each(providerCases)('%s answers "%s"', async (name, expected) => {
    const sink = await sinkForTest({ rejections: [name] });

    const seen = await refusal(sink);

    expect(seen.response).toBe(expected);
    expect(seen.responseCode).toBe(Number(expected.slice(0, 3)));
    const stage = bounceReplies.providers[name].stage;
    expect(sink.faults.fired()).toEqual([expect.objectContaining({ rule: name, stage })]);
  });

  it('a preset limited to some recipients refuses them and accepts the others', async () => {
    const sink = await sinkForTest({});
    sink.faults.preset('gmail.unknownUser', { recipient: '*@gone.test' });

    const seen = await refusal(sink, { to: 'someone@gone.test' });
    const info = await transportForTest(sink, { ignoreTLS: true }).sendMail({ ...letter, to: 'someone@here.test' });

    expect(seen.response).toMatch(/^550 5\.1\.1 The email account that you tried to reach does not exist\./);
    expect(info.accepted).toEqual(['someone@here.test']);
    expect(sink.accepted).toBe(1);
  });

  it('a preset as the short form of a rule action, at a stage the rule chooses', async () => {
    const sink = await sinkForTest({ faults: [{ stage: 'mail', action: 'gmail.rateLimited' }] });

    const seen = await refusal(sink);

    expect(seen.command).toBe('MAIL FROM');
    expect(seen.response).toMatch(/^450 4\.2\.1 The user you are trying to contact is receiving email too quickly\./);
  });

  it('a preset on one listener only: the implicit-TLS listener refuses, the plain one accepts', async () => {
    const sink = await sinkForTest({ tls: 'both', listeners: { smtps: { rejections: ['outlook.unknownUser'] } } });

    const seen = await refusal(sink, {}, { port: sink.tlsPort, secure: true, tls: { ca: sink.ca } });
    await transportForTest(sink, { ignoreTLS: true }).sendMail(letter);

    expect(seen.response).toBe('550 5.5.0 Requested action not taken: mailbox unavailable');
    expect(sink.accepted).toBe(1);
    expect(sink.faults.list().map((r) => [r.name, r.match.listener])).toEqual([['smtps:outlook.unknownUser', 'smtps']]);
  });

  it('a recorded refusal classifies as the RFC 3463 code it carries', async () => {
    const sink = await sinkForTest({ rejections: [{ preset: 'gmail.mailboxFull', recipient: 'full@gone.test' }] });

    const info = await transportForTest(sink, { ignoreTLS: true }).sendMail({
      ...letter,
      to: ['full@gone.test', 'room@here.test'],
    });
    const [record] = sink.deliveries();
    const refused = record?.rejectedRecipients[0]?.reply;

    const seen = (info.rejectedErrors?.[0] as { response?: string } | undefined)?.response ?? '';
    expect(seen).toMatch(/^452 4\.2\.2 The recipient's inbox is out of storage space\./);
    expect(classifyReply(seen)).toMatchObject({
      kind: 'transient',
      transient: true,
      permanent: false,
      subject: 2,
      subjectName: 'Mailbox Status',
      detail: 2,
      detailName: 'Mailbox full',
    });
    expect(refused).toMatchObject({ code: 452, enhanced: '4.2.2' });
    expect(classifyReply(refused as { code: number; enhanced?: string })).toMatchObject({
      transient: true,
      subject: 2,
      detail: 2,
    });
    expect(classifyReply(record?.reply as { code: number; enhanced?: string })).toMatchObject({ kind: 'success' });
  });
});

describe('blocklist presets: Postfix reject_rbl_client / reject_rhsbl_*, no DNS', () => {
  it('reject_rbl_client with a listed CIDR: 554 5.7.1 at RCPT with the client address', async () => {
    const sink = await sinkForTest({
      rejections: [
        { list: 'zen.spamhaus.org', listed: ['127.0.0.0/8'], reason: 'https://www.spamhaus.org/query/ip/127.0.0.1' },
      ],
    });

    const seen = await refusal(sink);

    expect(seen.command).toBe('RCPT TO');
    expect(seen.response).toBe(
      '554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/127.0.0.1',
    );
  });

  it('reject_rbl_client with the client not listed: the message is accepted and the rule never fires', async () => {
    const sink = await sinkForTest({
      rejections: [{ list: 'b1.spamcop.net', listed: ['192.0.2.0/24', '2001:db8::/32'] }],
    });

    await transportForTest(sink, { ignoreTLS: true }).sendMail(letter);

    expect(sink.accepted).toBe(1);
    expect(sink.faults.fired()).toEqual([]);
  });

  it('reject_rbl_client at connect (smtpd_delay_reject = no): the greeting is the refusal', async () => {
    const sink = await sinkForTest({
      rejections: [{ list: 'dnsbl.sorbs.net=127.0.0.10', listed: 'all', stage: 'connect' }],
    });

    const seen = await refusal(sink);

    expect(seen.response).toBe('554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using dnsbl.sorbs.net');
  });

  it('reject_rhsbl_sender: the sender address in brackets, at RCPT', async () => {
    const sink = await sinkForTest({});
    sink.faults.blocklist({ restriction: 'reject_rhsbl_sender', list: 'dbl.spamhaus.org', listed: ['sender.test'] });

    const seen = await refusal(sink, { from: 'app@mail.sender.test' });

    expect(seen.command).toBe('RCPT TO');
    expect(seen.response).toBe(
      '554 5.7.1 Service unavailable; Sender address [app@mail.sender.test] blocked using dbl.spamhaus.org',
    );
  });

  it('reject_rhsbl_sender at MAIL (smtpd_delay_reject = no)', async () => {
    const sink = await sinkForTest({
      rejections: [{ restriction: 'reject_rhsbl_sender', list: 'dbl.spamhaus.org', listed: 'all', stage: 'mail' }],
    });

    const seen = await refusal(sink);

    expect(seen.command).toBe('MAIL FROM');
    expect(seen.response).toBe(
      '554 5.7.1 Service unavailable; Sender address [app@sender.test] blocked using dbl.spamhaus.org',
    );
  });

  it('reject_rhsbl_recipient: only the listed recipient domain is refused', async () => {
    const sink = await sinkForTest({
      rejections: [
        { restriction: 'reject_rhsbl_recipient', list: 'rhsbl.example.net', listed: 'gone.test', code: 450 },
      ],
    });

    const seen = await refusal(sink);
    await transportForTest(sink, { ignoreTLS: true }).sendMail({ ...letter, to: 'someone@here.test' });

    expect(seen.response).toBe(
      '450 4.7.1 Service unavailable; Recipient address [someone@gone.test] blocked using rhsbl.example.net',
    );
    expect(sink.accepted).toBe(1);
  });

  it('reject_rhsbl_helo at HELO: the EHLO name in brackets', async () => {
    const sink = await sinkForTest({
      rejections: [
        { restriction: 'reject_rhsbl_helo', list: 'dbl.spamhaus.org', listed: ['spammy.test'], stage: 'helo' },
      ],
    });

    const seen = await refusal(sink, {}, { name: 'mx.spammy.test' });

    expect(seen.response).toBe(
      '554 5.7.1 Service unavailable; Helo command [mx.spammy.test] blocked using dbl.spamhaus.org',
    );
  });

  it('reject_rhsbl_client: the host name the client is said to resolve to', async () => {
    const sink = await sinkForTest({
      rejections: [
        { restriction: 'reject_rhsbl_client', list: 'dbl.spamhaus.org', listed: 'all', clientName: 'mail.spam.test' },
      ],
    });

    const seen = await refusal(sink);

    expect(seen.response).toBe(
      '554 5.7.1 Service unavailable; Client host [mail.spam.test] blocked using dbl.spamhaus.org',
    );
  });

  it('bounceReplies.blocklist gives the same reply the rule sends', () => {
    const reply = bounceReplies.blocklist('reject_rhsbl_sender', 'dbl.spamhaus.org', 'a@b.test', { reason: 'listed' });

    expect(reply).toEqual({
      code: 554,
      enhanced: '5.7.1',
      text: 'Service unavailable; Sender address [a@b.test] blocked using dbl.spamhaus.org; listed',
    });
  });
});

describe('rejection options that cannot work fail with the field named', () => {
  const cases: Array<[string, StartOptions, RegExp]> = [
    [
      'an unknown preset',
      { rejections: ['gmail.nope' as ProviderPresetName] },
      /"rejections\[0\]": "gmail\.nope" is not a provider preset/,
    ],
    [
      'a recipient preset at connect',
      { faults: [{ stage: 'connect', action: 'yahoo.unknownUser' }] },
      /must be one of rcpt, data, message for yahoo\.unknownUser/,
    ],
    [
      'a sender list at connect',
      {
        rejections: [{ restriction: 'reject_rhsbl_sender', list: 'dbl.spamhaus.org', listed: 'all', stage: 'connect' }],
      },
      /"stage" must be one of mail, rcpt, data for reject_rhsbl_sender/,
    ],
    [
      'a bad CIDR',
      { rejections: [{ list: 'zen.spamhaus.org', listed: ['10.0.0.0/33'] }] },
      /"action.listed" must hold IP addresses or CIDR ranges/,
    ],
    [
      'a 2xx code',
      { rejections: [{ list: 'zen.spamhaus.org', listed: 'all', code: 250 }] },
      /"action.code" must be a 4xx or 5xx/,
    ],
    [
      'rhsbl_client without a client name',
      { rejections: [{ restriction: 'reject_rhsbl_client', list: 'dbl.spamhaus.org', listed: 'all' }] },
      /"action.clientName" is required for reject_rhsbl_client/,
    ],
  ];

  it.each(cases)('%s', async (_, options, message) => {
    await expect(sinkForTest(options)).rejects.toThrow(message);
  });
});
