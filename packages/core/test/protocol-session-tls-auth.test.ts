import { describe, expect, it } from 'vitest';
import { replies as catalogue } from '../src/protocol/replies.js';
import { formatReply } from '../src/protocol/reply.js';
import type { AuthProvider, SaslExchange, SaslStep, StageContext } from '../src/protocol/types.js';
import { Client, code, codes, deliveries, keywords, tlsInfo, types } from './protocol-harness.js';

describe('STARTTLS', () => {
  it('answers 220 and asks the connection to start TLS', () => {
    const c = new Client({ starttls: true }).ready();
    const out = c.send('STARTTLS\r\n');
    expect(codes(out)).toEqual(['220 2.0.0']);
    expect(types(out)).toEqual(['reply', 'starttls']);
  });

  it('discards commands pipelined after STARTTLS in the same feed and never runs them', () => {
    const c = new Client({ starttls: true }).ready();
    const out = c.send('STARTTLS\r\nMAIL FROM:<evil@x.org>\r\nRCPT TO:<v@x.org>\r\n');
    expect(types(out)).toEqual(['reply', 'starttls']);
    expect(c.send('QUIT\r\n')).toEqual([]);
    c.session.tlsStarted(tlsInfo);
    expect(c.observer.of('transactionStarted')).toEqual([]);
    // After the handshake the session starts over: nothing of the plaintext survives.
    expect(c.codes('EHLO a\r\nRCPT TO:<v@x.org>\r\n')).toEqual(['250', '503 5.5.1']);
  });

  it('forgets a partial plaintext line sent before STARTTLS', () => {
    const c = new Client({ starttls: true }).ready();
    c.send('STARTTLS\r\nMAIL FR');
    c.session.tlsStarted(tlsInfo);
    expect(c.codes('EHLO a\r\n')).toEqual(['250']);
  });

  it('needs EHLO again after TLS starts and no longer advertises STARTTLS', () => {
    const c = new Client({ starttls: true }).ready();
    c.send('STARTTLS\r\n');
    c.session.tlsStarted(tlsInfo);
    expect(c.codes('MAIL FROM:<a@b.c>\r\n')).toEqual(['503 5.5.1']);
    const r = c.reply('EHLO a\r\n');
    expect(keywords(r)).not.toContain('STARTTLS');
    expect(keywords(r)).toContain('PIPELINING');
  });

  it('refuses a second STARTTLS with 503 5.5.1', () => {
    const c = new Client({ starttls: true }).ready();
    c.send('STARTTLS\r\n');
    c.session.tlsStarted(tlsInfo);
    c.send('EHLO a\r\n');
    expect(c.codes('STARTTLS\r\n')).toEqual(['503 5.5.1']);
  });

  it('refuses STARTTLS when it is not offered with 502', () => {
    const c = new Client().ready();
    const r = c.reply('STARTTLS\r\n');
    expect(code(r)).toBe('502 5.5.1');
    expect(formatReply(r)).toMatch(/starttls/);
  });

  it('refuses STARTTLS with an argument with 501 5.5.4', () => {
    const c = new Client({ starttls: true }).ready();
    expect(c.codes('STARTTLS now\r\n')).toEqual(['501 5.5.4']);
  });

  it('records the TLS details with the delivery', () => {
    const c = new Client({ starttls: true }).ready();
    c.send('STARTTLS\r\n');
    c.session.tlsStarted(tlsInfo);
    const out = c.send('EHLO a\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\n');
    expect(deliveries(out)[0]?.tls).toEqual(tlsInfo);
  });

  it('stays closed when TLS finishes after the session was ended', () => {
    const c = new Client({ starttls: true }).ready();
    c.send('STARTTLS\r\n');
    c.session.shutdown();
    c.take();
    c.session.tlsStarted(tlsInfo);
    expect(c.session.closed).toBe(true);
    expect(c.send('EHLO a\r\n')).toEqual([]);
  });
});

describe('requireTls', () => {
  it.each([['MAIL FROM:<a@b.c>'], ['RCPT TO:<a@b.c>'], ['DATA'], ['VRFY a']])(
    'refuses %s before STARTTLS with 530 5.7.0',
    (command) => {
      const c = new Client({ starttls: true, requireTls: true }).ready();
      expect(c.codes(`${command}\r\n`)).toEqual(['530 5.7.0']);
    },
  );

  it('lets EHLO, HELO, NOOP, RSET, STARTTLS and QUIT through before TLS', () => {
    const c = new Client({ starttls: true, requireTls: true });
    c.open();
    expect(c.codes('EHLO a\r\nHELO a\r\nNOOP\r\nRSET\r\nSTARTTLS\r\n')).toEqual([
      '250',
      '250',
      '250 2.0.0',
      '250 2.0.0',
      '220 2.0.0',
    ]);
    const quitter = new Client({ starttls: true, requireTls: true }).ready();
    expect(quitter.codes('QUIT\r\n')).toEqual(['221 2.0.0']);
  });

  it('consumes the octets of a BDAT refused for lack of TLS instead of running them as commands', () => {
    const c = new Client({ starttls: true, requireTls: true }).ready();
    const out = c.send('BDAT 12\r\nQUIT\r\nRSET\r\nNOOP\r\n');
    expect(codes(out)).toEqual(['530 5.7.0', '250 2.0.0']);
    expect(c.session.closed).toBe(false);
  });

  it('accepts mail once TLS is active', () => {
    const c = new Client({ starttls: true, requireTls: true }).ready();
    c.send('STARTTLS\r\n');
    c.session.tlsStarted(tlsInfo);
    expect(c.codes('EHLO a\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\n')).toEqual([
      '250',
      '250 2.1.0',
      '250 2.1.5',
      '354',
      '250 2.0.0',
    ]);
  });
});

/** A provider that accepts user/secret over PLAIN (one step) and LOGIN (two challenges). */
function provider(overrides: Partial<AuthProvider> = {}): AuthProvider & { contexts: StageContext[] } {
  const contexts: StageContext[] = [];
  return {
    mechanisms: ['PLAIN', 'LOGIN'],
    required: false,
    requireTls: false,
    contexts,
    begin(mechanism: string, context: StageContext): SaslExchange | undefined {
      contexts.push(context);
      if (mechanism === 'PLAIN') {
        return {
          respond(response): SaslStep {
            if (response === null) return { challenge: '' };
            const [, user, secret] = response.split('\0');
            return user === 'user' && secret === 'secret' ? { user } : { reject: catalogue.authFailed };
          },
        };
      }
      if (mechanism === 'LOGIN') {
        let user: string | undefined;
        return {
          respond(response): SaslStep {
            if (response === null) return { challenge: 'Username:' };
            if (user === undefined) {
              user = response;
              return { challenge: 'Password:' };
            }
            return response === 'secret' ? { user } : { reject: catalogue.authFailed };
          },
        };
      }
      return undefined;
    },
    ...overrides,
  };
}

const base64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const plain = base64('\0user\0secret');

describe('AUTH', () => {
  it('authenticates with an initial response and records the user with the delivery', () => {
    const c = new Client({ auth: provider() }).ready();
    expect(c.codes(`AUTH PLAIN ${plain}\r\n`)).toEqual(['235 2.7.0']);
    const out = c.send('MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\n');
    expect(deliveries(out)[0]?.user).toBe('user');
  });

  it('runs a challenge/response exchange with base64 challenges', () => {
    const c = new Client({ auth: provider() }).ready();
    const first = c.reply('AUTH LOGIN\r\n');
    expect(formatReply(first)).toBe(`334 ${base64('Username:')}\r\n`);
    expect(formatReply(c.reply(`${base64('user')}\r\n`))).toBe(`334 ${base64('Password:')}\r\n`);
    expect(c.codes(`${base64('secret')}\r\n`)).toEqual(['235 2.7.0']);
  });

  it('sends an empty 334 when PLAIN comes without an initial response, then takes the response', () => {
    const c = new Client({ auth: provider() }).ready();
    expect(formatReply(c.reply('AUTH PLAIN\r\n'))).toBe('334 \r\n');
    expect(c.codes(`${plain}\r\n`)).toEqual(['235 2.7.0']);
  });

  it('passes "=" as an empty initial response', () => {
    const seen: Array<string | null> = [];
    const auth = provider({
      begin: () => ({
        respond(response) {
          seen.push(response);
          return { reject: catalogue.authFailed };
        },
      }),
    });
    const c = new Client({ auth }).ready();
    c.send('AUTH PLAIN =\r\n');
    expect(seen).toEqual(['']);
  });

  it('refuses bad credentials with 535 5.7.8 and allows another attempt', () => {
    const c = new Client({ auth: provider() }).ready();
    expect(c.codes(`AUTH PLAIN ${base64('\0user\0wrong')}\r\n`)).toEqual(['535 5.7.8']);
    expect(c.codes(`AUTH PLAIN ${plain}\r\n`)).toEqual(['235 2.7.0']);
  });

  it('cancels the exchange on "*" with 501 and goes back to commands', () => {
    const c = new Client({ auth: provider() }).ready();
    c.send('AUTH LOGIN\r\n');
    expect(c.codes('*\r\nNOOP\r\n')).toEqual(['501 5.0.0', '250 2.0.0']);
  });

  it('refuses a response that is not base64 with 501 5.5.2', () => {
    const c = new Client({ auth: provider() }).ready();
    c.send('AUTH LOGIN\r\n');
    expect(c.codes('not base64!\r\nNOOP\r\n')).toEqual(['501 5.5.2', '250 2.0.0']);
    expect(c.codes('AUTH PLAIN abc\r\n')).toEqual(['501 5.5.2']);
  });

  it('refuses an unknown mechanism with 504 5.5.4', () => {
    const c = new Client({ auth: provider() }).ready();
    expect(c.codes('AUTH GSSAPI\r\n')).toEqual(['504 5.5.4']);
  });

  it('refuses AUTH without a mechanism or with too many arguments with 501 5.5.4', () => {
    const c = new Client({ auth: provider() }).ready();
    expect(c.codes('AUTH\r\nAUTH PLAIN a b\r\n')).toEqual(['501 5.5.4', '501 5.5.4']);
  });

  it('refuses a second AUTH after success with 503 5.5.1', () => {
    const c = new Client({ auth: provider() }).ready();
    c.send(`AUTH PLAIN ${plain}\r\n`);
    expect(c.codes(`AUTH PLAIN ${plain}\r\n`)).toEqual(['503 5.5.1']);
  });

  it('refuses AUTH when no provider is set with 502', () => {
    const c = new Client().ready();
    expect(c.codes(`AUTH PLAIN ${plain}\r\n`)).toEqual(['502 5.5.1']);
  });

  it('refuses AUTH before TLS with 538 5.7.11 when the provider requires TLS', () => {
    const c = new Client({ auth: provider({ requireTls: true }), starttls: true }).ready();
    expect(c.codes(`AUTH PLAIN ${plain}\r\n`)).toEqual(['538 5.7.11']);
    c.send('STARTTLS\r\n');
    c.session.tlsStarted(tlsInfo);
    c.send('EHLO a\r\n');
    expect(c.codes(`AUTH PLAIN ${plain}\r\n`)).toEqual(['235 2.7.0']);
  });

  it('refuses MAIL with 530 5.7.0 before AUTH when AUTH is required', () => {
    const c = new Client({ auth: provider({ required: true }) }).ready();
    expect(c.codes('MAIL FROM:<a@b.c>\r\n')).toEqual(['530 5.7.0']);
    c.send(`AUTH PLAIN ${plain}\r\n`);
    expect(c.codes('MAIL FROM:<a@b.c>\r\n')).toEqual(['250 2.1.0']);
  });

  it('accepts SASL responses longer than a command line, up to 12288 octets', () => {
    let length = -1;
    const auth = provider({
      begin: () => ({
        respond(response) {
          if (response === null) return { challenge: '' };
          length = response.length;
          return { user: 'u' };
        },
      }),
    });
    const c = new Client({ auth, maxCommandLineLength: 512 }).ready();
    c.send('AUTH XOAUTH2\r\n');
    const token = 'A'.repeat(12_000);
    expect(c.codes(`${token}\r\n`)).toEqual(['235 2.7.0']);
    expect(length).toBe(9000);
    // Back to the command limit afterwards.
    expect(c.codes(`NOOP ${'x'.repeat(600)}\r\n`)).toEqual(['500 5.5.2']);
  });

  it('refuses a SASL response over 12288 octets with 500 5.5.6', () => {
    const c = new Client({ auth: provider() }).ready();
    c.send('AUTH LOGIN\r\n');
    expect(c.codes(`${'A'.repeat(12_288)}\r\nNOOP\r\n`)).toEqual(['500 5.5.6', '250 2.0.0']);
  });

  it('forgets the user after STARTTLS', () => {
    const c = new Client({ auth: provider({ required: true }), starttls: true }).ready();
    c.send(`AUTH PLAIN ${plain}\r\nSTARTTLS\r\n`);
    c.session.tlsStarted(tlsInfo);
    expect(c.codes('EHLO a\r\nMAIL FROM:<a@b.c>\r\n')).toEqual(['250', '530 5.7.0']);
  });

  it('treats a provider that throws as a failed authentication', () => {
    const throwing = provider({
      begin: () => ({
        respond() {
          throw new Error('bug in provider');
        },
      }),
    });
    const c = new Client({ auth: throwing }).ready();
    expect(c.codes(`AUTH PLAIN ${plain}\r\nNOOP\r\n`)).toEqual(['535 5.7.8', '250 2.0.0']);
    const failingBegin = provider({
      begin: () => {
        throw new Error('bug in provider');
      },
    });
    const d = new Client({ auth: failingBegin }).ready();
    expect(d.codes(`AUTH PLAIN ${plain}\r\nNOOP\r\n`)).toEqual(['535 5.7.8', '250 2.0.0']);
  });

  it('hands the provider the stage context with the HELO name and connection', () => {
    const auth = provider();
    const c = new Client({ auth }).ready();
    c.send(`AUTH PLAIN ${plain}\r\n`);
    expect(auth.contexts[0]).toMatchObject({ stage: 'auth', heloName: 'client.test', connection: { id: 7 } });
  });
});
