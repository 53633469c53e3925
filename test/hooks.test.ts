import type { HookSession, SaslCredentials } from '@mailhole/core';
import { describe, expect, it } from 'vitest';
import { eventually } from './support/hostile-wire.js';
import { greeted, WireClient } from './support/smtp-wire.js';
import { letter, nextEvent, sinkForTest, transportForTest } from './support/tls-clients.js';
import { TlsWire } from './support/tls-wire.js';

/** A promise the test settles itself, to hold a hook's decision as long as it likes. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('hooks decide replies, synchronously or with a promise (nodemailer as the client)', () => {
  it('an async rcpt hook refuses one recipient; the others are delivered', async () => {
    const sink = await sinkForTest({
      hooks: {
        async rcpt(_session, recipient) {
          await later(5);
          return recipient.address.startsWith('gone@')
            ? { code: 550, enhanced: '5.1.1', text: 'No such user' }
            : undefined;
        },
      },
    });

    const info = await transportForTest(sink).sendMail({ ...letter, to: ['gone@sink.test', 'here@sink.test'] });

    expect(info.rejected).toEqual(['gone@sink.test']);
    expect(info.accepted).toEqual(['here@sink.test']);
    const [record] = await sink.waitFor(1);
    expect(record?.recipients).toEqual(['here@sink.test']);
  });

  it('the message hook gets the whole message before the final reply and can refuse it', async () => {
    const seen: string[] = [];
    const sink = await sinkForTest({
      hooks: {
        async message(_session, message) {
          seen.push(message.toString('utf8'));
          await later(5);
          return message.includes('forbidden word')
            ? { code: 554, enhanced: '5.6.0', text: 'Content refused' }
            : undefined;
        },
      },
    });
    const transport = transportForTest(sink);

    await transport.sendMail({ ...letter, text: 'all fine' });
    const refused = await transport
      .sendMail({ ...letter, text: `${'line of text\n'.repeat(10_000)}forbidden word` })
      .catch((e) => e);

    expect(refused.responseCode).toBe(554);
    expect(refused.response).toBe('554 5.6.0 Content refused');
    expect(sink.accepted).toBe(1);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatch(/^From: sender@client\.test\r\n[\s\S]*\r\n\r\nall fine\r\n$/);
    expect(seen[1]?.split('line of text\r\n')).toHaveLength(10_001);
    expect(seen[1]).toContain('forbidden word');
  });

  it('over the size limit the message hook gets the message cut at the limit and a proposed 552', async () => {
    const got: Array<{ length: number; code: number; size: number }> = [];
    const sink = await sinkForTest({
      maxMessageSize: 1000,
      hooks: {
        message: (_s, message, info) =>
          void got.push({ length: message.length, code: info.proposed.code, size: info.size }),
      },
    });
    const { wire } = await greeted(sink.port);
    await wire.command('MAIL FROM:<a@x.test>');
    await wire.command('RCPT TO:<b@x.test>');
    await wire.command('DATA');

    wire.write(`Subject: big\r\n\r\n${'0123456789abcde\r\n'.repeat(200)}.\r\n`);
    const final = await wire.reply();
    wire.destroy();

    expect(final.code).toBe(552);
    expect(got).toEqual([{ length: 1000, code: 552, size: 3416 }]);
  });

  it('one session object per connection, the same in every hook from connect to close', async () => {
    const sessions = new Set<HookSession>();
    const stages: string[] = [];
    const note = (stage: string) => (session: HookSession) => {
      sessions.add(session);
      stages.push(stage);
      session.state.count = ((session.state.count as number | undefined) ?? 0) + 1;
    };
    const closed = deferred<HookSession>();
    const sink = await sinkForTest({
      hooks: {
        connect: note('connect'),
        helo: (session, name) => {
          note('helo')(session);
          expect(session.heloName).toBe(name);
        },
        mail: (session, sender) => {
          note('mail')(session);
          expect(sender.address).toBe(letter.from);
        },
        rcpt: note('rcpt'),
        data: note('data'),
        message: (session) => {
          note('message')(session);
          expect(session.transaction?.recipients.map((r) => r.address)).toEqual([letter.to]);
        },
        close: (session) => closed.resolve(session),
      },
    });

    await transportForTest(sink).sendMail(letter);
    const last = await closed.promise;

    expect(stages).toEqual(['connect', 'helo', 'mail', 'rcpt', 'data', 'message']);
    expect(sessions.size).toBe(1);
    expect([...sessions][0]).toBe(last);
    expect(last.state.count).toBe(6);
    expect(last.remoteAddress).toBe('127.0.0.1');
  });

  it('mail and rcpt hooks see the raw ESMTP parameters', async () => {
    const parameters: unknown[] = [];
    const sink = await sinkForTest({
      hooks: {
        mail: (_s, sender) => void parameters.push(sender.parameters),
        rcpt: (_s, recipient) => void parameters.push(recipient.parameters),
      },
    });
    const { wire } = await greeted(sink.port);

    await wire.command('MAIL FROM:<a@x.test> BODY=8BITMIME SIZE=100 ENVID=abc');
    await wire.command('RCPT TO:<b@x.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b@x.test');
    wire.destroy();

    expect(parameters).toEqual([
      [
        { name: 'BODY', value: '8BITMIME' },
        { name: 'SIZE', value: '100' },
        { name: 'ENVID', value: 'abc' },
      ],
      [
        { name: 'NOTIFY', value: 'SUCCESS,DELAY' },
        { name: 'ORCPT', value: 'rfc822;b@x.test' },
      ],
    ]);
  });
});

describe('pipelined commands wait for a pending decision (RFC 2920: replies in order)', () => {
  it('replies come in command order when earlier decisions settle later', async () => {
    const sink = await sinkForTest({
      hooks: {
        // The first recipient is decided last: its reply must still come first.
        rcpt: async (_s, recipient) => {
          const n = Number(/^r(\d)@/.exec(recipient.address)?.[1]);
          await later((4 - n) * 15);
          return n === 2 ? { code: 550, text: `refused r${n}` } : undefined;
        },
      },
    });
    const { wire } = await greeted(sink.port);

    wire.write('MAIL FROM:<a@x.test>\r\nRCPT TO:<r1@x.test>\r\nRCPT TO:<r2@x.test>\r\nRCPT TO:<r3@x.test>\r\nDATA\r\n');
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push((await wire.reply()).last);
    wire.write('Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n');
    const final = await wire.reply();
    await wire.waitClosed();

    expect(replies).toEqual([
      '250 2.1.0 Sender OK',
      '250 2.1.5 Recipient OK',
      '550 5.1.1 refused r2',
      '250 2.1.5 Recipient OK',
      '354 Start mail input; end with <CRLF>.<CRLF>',
    ]);
    expect(final.code).toBe(250);
    const [record] = await sink.waitFor(1);
    expect(record?.recipients).toEqual(['r1@x.test', 'r3@x.test']);
  });

  it('under LMTP an async message hook answers each recipient in order', async () => {
    const sink = await sinkForTest({
      lmtp: true,
      hooks: {
        message: async (_s, _message, info) => {
          await later(info.recipient === 'a@x.test' ? 20 : 1);
          return info.recipient === 'b@x.test' ? { code: 452, text: 'Mailbox full' } : undefined;
        },
      },
    });
    const wire = await WireClient.open(sink.port);
    await wire.expect(220);
    await wire.command('LHLO wire.test');
    wire.write('MAIL FROM:<s@x.test>\r\nRCPT TO:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n');
    for (let i = 0; i < 4; i++) await wire.reply();
    wire.write('Subject: lmtp\r\n\r\nhi\r\n.\r\n');

    const a = await wire.reply();
    const b = await wire.reply();
    wire.destroy();

    expect(a.code).toBe(250);
    expect(b.last).toBe('452 4.3.1 Mailbox full');
    const [record] = await sink.waitFor(1);
    expect(record?.recipients).toEqual(['a@x.test']);
  });
});

describe('a failing hook gets 451 and an error event, never a crash or a hung session', () => {
  it.each([
    [
      'throws',
      () => {
        throw new Error('lookup broke');
      },
    ],
    ['rejects', () => Promise.reject(new Error('lookup broke'))],
  ])('a hook that %s: 451 4.3.0, the "error" event, and the session goes on', async (_how, rcpt) => {
    const sink = await sinkForTest({ hooks: { rcpt } });
    const error = nextEvent<Error>(sink, 'error');
    const { wire } = await greeted(sink.port);

    await wire.command('MAIL FROM:<a@x.test>');
    const refused = await wire.command('RCPT TO:<b@x.test>');
    const noop = await wire.command('NOOP');
    wire.destroy();

    expect(refused.last).toBe(
      '451 4.3.0 The rcpt hook failed: try again later (the sink emitted an "error" event with the cause)',
    );
    expect((await error).message).toBe('lookup broke');
    expect(noop.code).toBe(250);
  });

  it('a hook that returns something that is no reply fails the same way, naming what it got', async () => {
    const sink = await sinkForTest({ hooks: { mail: () => 'yes' as never } });
    const error = nextEvent<Error>(sink, 'error');
    const { wire } = await greeted(sink.port);

    const refused = await wire.command('MAIL FROM:<a@x.test>');
    wire.destroy();

    expect(refused.code).toBe(451);
    expect((await error).message).toContain('the mail hook must return nothing or a reply such as { code: 550');
  });

  it('a hook that never settles is ended by the command deadline (idleTimeout) with 421', async () => {
    const sink = await sinkForTest({ idleTimeout: 300, hooks: { data: () => new Promise(() => {}) } });
    const { wire } = await greeted(sink.port);
    await wire.command('MAIL FROM:<a@x.test>');
    await wire.command('RCPT TO:<b@x.test>');

    const ended = await wire.command('DATA');
    await wire.waitClosed();

    expect(ended.last).toMatch(/^421 4\.4\.2 No decision for stage data within 0\.3 s: closing the connection/);
    expect(sink.accepted).toBe(0);
  });

  it('close() does not wait for a pending hook', async () => {
    const sink = await sinkForTest({ hooks: { helo: () => new Promise(() => {}) } });
    const wire = await WireClient.open(sink.port);
    await wire.expect(220);
    wire.write('EHLO wire.test\r\n');
    await eventually(() => sink.sessions()[0]?.awaiting === true, 'the helo hook pending');

    await sink.close();
    const reply = await wire.reply();

    expect(reply.last).toBe('421 4.3.2 Sink is closing: service not available');
  });
});

describe('AUTH hook: decoded credentials, any mechanism', () => {
  it.each(['PLAIN', 'LOGIN'])('%s: the hook sees user and password and decides', async (method) => {
    const seen: SaslCredentials[] = [];
    const sink = await sinkForTest({
      hooks: {
        auth: async (_s, credentials) => {
          seen.push(credentials);
          return credentials.validatePassword('right') ? undefined : { code: 535, enhanced: '5.7.8', text: 'Nope' };
        },
      },
    });

    await transportForTest(sink, { auth: { user: 'alice', pass: 'right', method } }).sendMail(letter);
    const wrong = await transportForTest(sink, { auth: { user: 'alice', pass: 'wrong', method } })
      .sendMail(letter)
      .catch((e) => e);

    expect(seen.map((c) => [c.mechanism, c.username, c.password])).toEqual([
      [method, 'alice', 'right'],
      [method, 'alice', 'wrong'],
    ]);
    expect(wrong.responseCode).toBe(535);
    const [record] = await sink.waitFor(1);
    expect(record?.user).toBe('alice');
  });

  it('CRAM-MD5: validatePassword checks the digest against the challenge sent', async () => {
    const results: boolean[] = [];
    const sink = await sinkForTest({
      auth: { mechanisms: ['CRAM-MD5'] },
      hooks: {
        auth: (_s, credentials) => {
          results.push(credentials.validatePassword('s3cret'), credentials.validatePassword('other'));
          expect(credentials.challenge).toMatch(/^<\d+\.\d+@/);
          return undefined;
        },
      },
    });

    await transportForTest(sink, { auth: { user: 'alice', pass: 's3cret', method: 'CRAM-MD5' } }).sendMail(letter);

    expect(results).toEqual([true, false]);
  });

  it('XOAUTH2: the hook gets the bearer token', async () => {
    const tokens: Array<string | undefined> = [];
    const sink = await sinkForTest({
      hooks: { auth: (_s, c) => void tokens.push(c.accessToken) },
    });

    await transportForTest(sink, {
      auth: { type: 'OAuth2', user: 'alice@x.test', accessToken: 'ya29.token' },
    }).sendMail(letter);

    expect(tokens).toEqual(['ya29.token']);
  });
});

describe('connect, secure and close hooks', () => {
  it('a connect hook that refuses replaces the greeting', async () => {
    const sink = await sinkForTest({ hooks: { connect: () => ({ code: 554, text: 'Not you' }) } });

    const failure = await transportForTest(sink)
      .sendMail(letter)
      .catch((e) => e);

    expect(failure.response).toBe('554 5.0.0 Not you');
  });

  it('the secure hook runs after the STARTTLS handshake with the TLS details', async () => {
    const protocols: Array<string | undefined> = [];
    const sink = await sinkForTest({
      tls: 'starttls',
      hooks: { secure: (session) => void protocols.push(session.tls?.protocol) },
    });

    await transportForTest(sink, { requireTLS: true, tls: sink.clientTls() }).sendMail(letter);

    expect(protocols).toHaveLength(1);
    expect(protocols[0]).toMatch(/^TLSv1\.[23]$/);
  });

  it('a secure hook that refuses ends the connection with its reply', async () => {
    const sink = await sinkForTest({
      tls: 'starttls',
      hooks: { secure: async () => ({ code: 421, text: 'Not today' }) },
    });

    const failure = await transportForTest(sink, { requireTLS: true, tls: sink.clientTls() })
      .sendMail(letter)
      .catch((e) => e);

    expect(failure).toBeInstanceOf(Error);
    expect(sink.accepted).toBe(0);
  });
});

describe('live sessions, EHLO keywords, REQUIRETLS', () => {
  it('sink.sessions() lists live sessions and dropSession() cuts one mid-transaction', async () => {
    const sink = await sinkForTest({});
    const { wire } = await greeted(sink.port);
    await wire.command('MAIL FROM:<a@x.test>');
    await wire.command('RCPT TO:<b@x.test>');

    const [live] = sink.sessions();
    expect(live).toMatchObject({
      heloName: 'wire.test',
      sender: 'a@x.test',
      recipients: ['b@x.test'],
      inMessage: false,
    });
    expect(sink.dropSession(live?.id ?? -1)).toBe(true);
    await wire.waitClosed();

    expect(sink.dropSession(live?.id ?? -1)).toBe(false);
    expect(() => sink.dropSession(1, 'bye' as never)).toThrow('dropSession: "how" must be "reset", "close" or "421"');
  });

  it('nodemailer sees a connection lost when its session is dropped during DATA', async () => {
    const sink = await sinkForTest({});
    sink.on('recipient', ({ connectionId }) => setTimeout(() => sink.dropSession(connectionId), 0));

    const failure = await transportForTest(sink)
      .sendMail(letter)
      .catch((e) => e);

    expect(failure).toBeInstanceOf(Error);
    expect(sink.accepted).toBe(0);
  });

  it('hideEhloKeywords leaves keywords out of EHLO; the rest stay', async () => {
    const sink = await sinkForTest({ hideEhloKeywords: ['pipelining', 'CHUNKING', 'SIZE'] });
    const { wire, ehlo } = await greeted(sink.port);
    wire.destroy();

    const keywords = ehlo.lines.slice(1).map((l) => l.slice(4));
    expect(keywords).not.toContain('PIPELINING');
    expect(keywords).not.toContain('CHUNKING');
    expect(keywords.some((k) => k.startsWith('SIZE'))).toBe(false);
    expect(keywords).toContain('8BITMIME');
    await expect(sinkForTest({ hideEhloKeywords: 'PIPELINING' as never })).rejects.toThrow(
      'option "hideEhloKeywords" must be a list of EHLO keywords',
    );
  });

  it('REQUIRETLS (RFC 8689) is offered and accepted over TLS, refused in plaintext', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });
    const { wire, ehlo } = await greeted(sink.port);

    const plain = await wire.command('MAIL FROM:<a@x.test> REQUIRETLS');
    wire.destroy();
    const tls = await TlsWire.open(sink.port);
    await tls.reply();
    await tls.command('EHLO tls.test');
    await tls.command('STARTTLS');
    await tls.upgrade({ ca: sink.ca, servername: 'localhost' });
    const tlsEhlo = await tls.command('EHLO tls.test');
    const withTls = await tls.command('MAIL FROM:<a@x.test> REQUIRETLS');
    const withValue = await (async () => {
      await tls.command('RSET');
      return tls.command('MAIL FROM:<a@x.test> REQUIRETLS=yes');
    })();
    tls.destroy();

    expect(ehlo.lines.join('\n')).not.toContain('REQUIRETLS');
    expect(plain.last).toBe('530 5.7.10 REQUIRETLS needs a TLS session: send STARTTLS first (RFC 8689)');
    expect(tlsEhlo.lines).toContain('250-REQUIRETLS');
    expect(withTls.code).toBe(250);
    expect(withValue.code).toBe(501);
  });
});
