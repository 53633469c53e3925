import { describe, expect, it } from 'vitest';
import { greeted } from './support/smtp-wire.js';
import { sinkForTest, transportForTest } from './support/tls-clients.js';

/** RFC 4954 §4: the AUTH command line may be 12288 octets, CRLF included. */
const AUTH_LINE = 12288;

describe('AUTH command lines longer than maxCommandLineLength', () => {
  it('nodemailer sends an XOAUTH2 token of several kilobytes in one AUTH line, and it is accepted', async () => {
    const token = `ya29.${'A'.repeat(6000)}`;
    const sink = await sinkForTest({ auth: { users: { alice: token } } });
    const info = await transportForTest(sink, {
      auth: { type: 'OAuth2', user: 'alice', accessToken: token },
    }).sendMail({ from: 'alice@client.test', to: 'bob@sink.test', subject: 'oauth', text: 'hi' });
    expect(info.response).toMatch(/^250 /);
    expect(sink.deliveries()[0]?.user).toBe('alice');
  });

  it('accepts an AUTH line of exactly 12288 octets and refuses one octet more', async () => {
    const sink = await sinkForTest({ auth: true });
    const { wire } = await greeted(sink.port);
    try {
      // "AUTH PLAIN " + base64 + CRLF; PLAIN takes any user here, the padding rides in the password.
      const room = AUTH_LINE - 'AUTH PLAIN '.length - 2;
      const raw = (n: number) => Buffer.from(`\0u\0${'p'.repeat(n)}`).toString('base64');
      let n = Math.floor((room * 3) / 4) - 3;
      while (raw(n).length > room) n--;
      // Base64 comes in groups of 4: pad the line to the limit with a longer password where it fits.
      const line = `AUTH PLAIN ${raw(n)}`;
      expect(line.length + 2).toBeLessThanOrEqual(AUTH_LINE);
      expect(line.length + 2).toBeGreaterThan(AUTH_LINE - 4);
      expect((await wire.command(line)).code).toBe(235);
    } finally {
      wire.destroy();
    }
    const second = await greeted(sink.port);
    try {
      const tooLong = `AUTH PLAIN ${'A'.repeat(AUTH_LINE - 'AUTH PLAIN '.length - 1)}`;
      expect(tooLong.length + 2).toBe(AUTH_LINE + 1);
      expect((await second.wire.command(tooLong)).last).toMatch(/^500 5\.5\.2/);
    } finally {
      second.wire.destroy();
    }
  });

  it('holds every other command to maxCommandLineLength though AUTH is offered', async () => {
    const sink = await sinkForTest({ auth: true, maxCommandLineLength: 600 });
    const { wire } = await greeted(sink.port);
    try {
      const at = (n: number) => `NOOP ${'x'.repeat(n - 'NOOP '.length - 2)}`;
      expect((await wire.command(at(600))).code).toBe(250);
      expect((await wire.command(at(601))).last).toMatch(/^500 5\.5\.2 .*maxCommandLineLength/);
    } finally {
      wire.destroy();
    }
  });
});
