import type { Sink } from '@mailhole/core';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool, run } from './support/child.js';
import { WireClient } from './support/smtp-wire.js';
import { sinkForTest, transportForTest } from './support/tls-clients.js';

const users = { alice: 'correct horse', bob: 'battery staple' };

async function swaks(sink: Sink, extra: string[]) {
  const program = requireTool('swaks', 'apt-get install swaks');
  const result = await run(program, [
    '--server',
    `${sink.host}:${sink.port}`,
    '--from',
    'swaks@client.test',
    '--to',
    'rcpt@sink.test',
    '--helo',
    'swaks.test',
    ...extra,
  ]);
  return { code: result.code, transcript: result.stdout.split('\n') };
}

/** swaks options to authenticate with `mechanism` as `user`. */
const authAs = (mechanism: string, user: string, password: string) => [
  '--auth',
  mechanism,
  '--auth-user',
  user,
  '--auth-password',
  password,
];

const refusals = (transcript: string[]) => transcript.filter((line) => line.startsWith('<** '));

describe('AUTH with swaks against a users table', () => {
  it.each(['PLAIN', 'LOGIN', 'CRAM-MD5'])(
    '%s with the right password is accepted and the user recorded',
    async (mechanism) => {
      const sink = await sinkForTest({ auth: { users }, requireAuth: true });

      const { code, transcript } = await swaks(sink, authAs(mechanism, 'alice', users.alice));
      const [record] = await sink.waitFor(1);

      expect(refusals(transcript)).toEqual([]);
      expect(code).toBe(0);
      expect(transcript).toContain(`<-  235 2.7.0 Authentication successful`);
      expect(record?.user).toBe('alice');
    },
  );

  it.each(['PLAIN', 'LOGIN', 'CRAM-MD5'])(
    '%s with a wrong password gets 535 5.7.8 and sends nothing',
    async (mechanism) => {
      const sink = await sinkForTest({ auth: { users }, requireAuth: true });

      const { code, transcript } = await swaks(sink, authAs(mechanism, 'alice', users.bob));

      expect(code).not.toBe(0);
      expect(refusals(transcript)).toEqual(['<** 535 5.7.8 Authentication credentials invalid']);
      expect(sink.stats()).toMatchObject({ accepted: 0, transactions: 0 });
    },
  );

  it('an unknown user gets the same 535 5.7.8 as a wrong password', async () => {
    const sink = await sinkForTest({ auth: { users } });

    const { transcript } = await swaks(sink, authAs('PLAIN', 'mallory', users.alice));

    expect(refusals(transcript)).toEqual(['<** 535 5.7.8 Authentication credentials invalid']);
  });

  it('requireAuth: MAIL without AUTH gets 530 5.7.0', async () => {
    const sink = await sinkForTest({ auth: { users }, requireAuth: true });

    const { code, transcript } = await swaks(sink, []);

    expect(code).not.toBe(0);
    expect(refusals(transcript)).toEqual(['<** 530 5.7.0 Authentication required: send AUTH first']);
    expect(sink.accepted).toBe(0);
  });

  it('a bare startSink() offers AUTH and accepts any user name and password (the default)', async () => {
    const sink = await sinkForTest({});

    const { code, transcript } = await swaks(sink, authAs('PLAIN', 'anyone', 'anything'));
    const [record] = await sink.waitFor(1);

    expect(code).toBe(0);
    expect(transcript).toContain('<-  250-AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2');
    expect(record?.user).toBe('anyone');
  });

  it('auth: false offers no AUTH, and swaks --auth gives up before sending', async () => {
    const sink = await sinkForTest({ auth: false });

    const { code, transcript } = await swaks(sink, authAs('PLAIN', 'anyone', 'anything'));

    expect(code).not.toBe(0);
    expect(transcript.join('\n')).not.toMatch(/250-AUTH/);
    expect(sink.stats().transactions).toBe(0);
  });

  it('auth: true accepts any user name and password', async () => {
    const sink = await sinkForTest({ auth: true });

    const { code } = await swaks(sink, authAs('LOGIN', 'anyone', 'anything'));
    const [record] = await sink.waitFor(1);

    expect(code).toBe(0);
    expect(record?.user).toBe('anyone');
  });

  it('no password ever shows in the records, the report or the stats', async () => {
    const sink = await sinkForTest({ auth: { users }, requireAuth: true });

    await swaks(sink, authAs('PLAIN', 'alice', users.alice));
    await swaks(sink, authAs('LOGIN', 'bob', 'wrong guess'));
    await sink.waitFor(1);
    const everything = JSON.stringify([sink.deliveries({ includeRejected: true }), sink.stats()]) + sink.describe();

    expect(everything).toContain('alice');
    expect(everything).not.toContain(users.alice);
    expect(everything).not.toContain('wrong guess');
  });
});

describe('AUTH with nodemailer', () => {
  it('XOAUTH2 with the right token is accepted and the user recorded', async () => {
    const sink = await sinkForTest({ auth: { users, mechanisms: ['XOAUTH2'] } });

    const info = await transportForTest(sink, {
      ignoreTLS: true,
      auth: { type: 'OAuth2', user: 'bob', accessToken: users.bob },
    }).sendMail({ from: 'bob@client.test', to: 'rcpt@sink.test', text: 'oauth' });
    const [record] = await sink.waitFor(1);

    expect(info.response).toMatch(/^250 /);
    expect(record?.user).toBe('bob');
  });

  it('a wrong PLAIN password fails with EAUTH 535', async () => {
    const sink = await sinkForTest({ auth: { users } });
    let error: { code?: string; responseCode?: number } | undefined;

    try {
      await transportForTest(sink, { ignoreTLS: true, auth: { user: 'alice', pass: 'nope' } }).sendMail({
        from: 'a@client.test',
        to: 'rcpt@sink.test',
        text: 'x',
      });
    } catch (e) {
      error = e as typeof error;
    }

    expect(error).toMatchObject({ code: 'EAUTH', responseCode: 535 });
  });

  it('auth.requireTls: AUTH is offered and accepted only after STARTTLS', async () => {
    const sink = await sinkForTest({ tls: 'starttls', auth: { users, requireTls: true } });

    const info = await transportForTest(sink, {
      requireTLS: true,
      tls: sink.clientTls(),
      auth: { user: 'alice', pass: users.alice },
    }).sendMail({
      from: 'alice@client.test',
      to: 'rcpt@sink.test',
      text: 'secure',
    });
    const [record] = await sink.waitFor(1);

    expect(info.response).toMatch(/^250 /);
    expect(record).toMatchObject({ user: 'alice', tls: { mode: 'starttls' } });
  });
});

describe('AUTH on the wire', () => {
  let wire: WireClient | undefined;
  afterEach(() => {
    wire?.destroy();
    wire = undefined;
  });
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

  async function greeted(sink: Sink): Promise<WireClient> {
    wire = await WireClient.open(sink.port);
    await wire.expect(220);
    await wire.command('EHLO wire.test');
    return wire;
  }

  it('XOAUTH2 with a bad token gets a JSON error challenge, then 535 5.7.8', async () => {
    const sink = await sinkForTest({ auth: { users } });
    const w = await greeted(sink);

    const challenge = await w.command(`AUTH XOAUTH2 ${b64('user=alice\x01auth=Bearer expired\x01\x01')}`);
    const final = await w.command('');

    expect(challenge.code).toBe(334);
    expect(JSON.parse(Buffer.from(challenge.last.slice(4), 'base64').toString())).toMatchObject({ status: '401' });
    expect(final.last).toBe('535 5.7.8 Authentication credentials invalid');
  });

  it('PLAIN without an initial response gets an empty 334, then takes the credentials', async () => {
    const sink = await sinkForTest({ auth: { users } });
    const w = await greeted(sink);

    expect((await w.command('AUTH PLAIN')).last).toBe('334 ');
    expect((await w.command(b64(`\0alice\0${users.alice}`))).last).toBe('235 2.7.0 Authentication successful');
  });

  it('a client that sends * cancels the exchange with 501', async () => {
    const sink = await sinkForTest({ auth: { users } });
    const w = await greeted(sink);

    expect((await w.command('AUTH LOGIN')).code).toBe(334);
    expect((await w.command('*')).code).toBe(501);
    expect((await w.command('MAIL FROM:<a@client.test>')).code).toBe(250);
  });

  it('auth.requireTls: before STARTTLS, EHLO does not offer AUTH and AUTH gets 538 5.7.11', async () => {
    const sink = await sinkForTest({ tls: 'starttls', auth: { users, requireTls: true } });
    wire = await WireClient.open(sink.port);
    await wire.expect(220);

    const ehlo = await wire.command('EHLO wire.test');
    const auth = await wire.command(`AUTH PLAIN ${b64(`\0alice\0${users.alice}`)}`);

    expect(ehlo.lines.some((line) => line.includes('AUTH'))).toBe(false);
    expect(auth.last).toMatch(/^538 5\.7\.11 /);
  });
});
