import { describe, expect, it } from 'vitest';
import { converse, finalCodes, hostileSink, malformedLines } from './support/hostile-wire.js';

// AUTH (RFC 4954) fed what no SASL client sends: broken base64, base64 of broken credentials,
// responses to the wrong prompt. Each attempt fails with its own reply, the session goes on, and
// a correct AUTH afterwards still succeeds: nothing of a failed attempt sticks.

const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');
const users = { alice: 's3cret' };
const good = `AUTH PLAIN ${b64('\0alice\0s3cret')}\r\n`;

describe('AUTH with malformed base64', () => {
  const badBase64 = [
    ['characters outside the alphabet', '!!!!'],
    ['URL-safe alphabet', '-_-_'],
    ['missing padding', 'AGFsaWNlAHMzY3JldA'],
    ['padding in the middle', 'AG=saWNl'],
    ['only padding', '===='],
    ['too much padding', 'AA==='],
    ['a single character', 'A'],
    ['8-bit bytes', '\xe9\xe9\xe9\xe9'],
    ['a NUL byte', 'AA\0A'],
    ['a tab inside', 'AGFs\taWNl'],
  ];

  it.each(badBase64)('refuses an initial response with %s with 501, and the session goes on', async (_, response) => {
    const { sink } = await hostileSink({ auth: { users } });
    const lines = await converse(sink.port, [
      Buffer.from(`EHLO client.test\r\nAUTH PLAIN ${response}\r\nNOOP\r\n`, 'latin1'),
      good,
    ]);
    expect(malformedLines(lines)).toEqual([]);
    const codes = finalCodes(lines);
    // A control byte refuses the whole command line (500 5.5.2) before AUTH reads it.
    expect(codes.slice(2, 3)[0]).toMatch(/^50[01] 5\.5\.2$/);
    expect(codes.slice(3)).toEqual(['250 2.0.0', '235 2.7.0', '221 2.0.0']);
  });

  it.each(badBase64)('refuses a continuation line with %s with 501 5.5.2', async (_, response) => {
    const { sink } = await hostileSink({ auth: { users } });
    const lines = await converse(sink.port, [
      Buffer.from(`EHLO client.test\r\nAUTH LOGIN\r\n${response}\r\nNOOP\r\n`, 'latin1'),
      good,
    ]);
    expect(finalCodes(lines)).toEqual(['220', '250', '334', '501 5.5.2', '250 2.0.0', '235 2.7.0', '221 2.0.0']);
  });

  it('refuses well-formed base64 of malformed PLAIN credentials with 501, not 235', async () => {
    const { sink } = await hostileSink({ auth: { users } });
    const malformed = [
      b64('alice'),
      b64('\0alice'),
      b64('\0\0s3cret'),
      b64('a\0b\0c\0d'),
      b64(Buffer.from([0xff, 0, 0xfe, 0, 0xfd])),
    ];
    const lines = await converse(sink.port, [
      'EHLO client.test\r\n',
      ...malformed.map((m) => `AUTH PLAIN ${m}\r\n`),
      'MAIL FROM:<a@client.test>\r\n',
      good,
    ]);
    const codes = finalCodes(lines);
    expect(codes.slice(2, 2 + malformed.length).every((c) => c === '501 5.5.2' || c === '535 5.7.8')).toBe(true);
    expect(codes.slice(2 + malformed.length)).toEqual(['250 2.1.0', '503 5.5.1', '221 2.0.0']);
  });

  it('answers base64 garbage to CRAM-MD5 and XOAUTH2 prompts without authenticating', async () => {
    const { sink } = await hostileSink({ auth: { users } });
    const lines = await converse(sink.port, [
      'EHLO client.test\r\n',
      'AUTH CRAM-MD5\r\n',
      `${b64('no digest here')}\r\n`,
      'AUTH XOAUTH2\r\n',
      `${b64('user=alice\x01auth=Basic x\x01\x01')}\r\n`,
      `AUTH XOAUTH2 ${b64('user=alice\x01auth=Bearer wrong\x01\x01')}\r\n`,
      '\r\n',
      good,
    ]);
    expect(finalCodes(lines)).toEqual([
      '220',
      '250',
      '334',
      '501 5.5.2',
      '334',
      '501 5.5.2',
      '334',
      '535 5.7.8',
      '235 2.7.0',
      '221 2.0.0',
    ]);
    expect(sink.deliveries()).toEqual([]);
  });

  it('does not echo an unknown mechanism, which may be credentials sent in its place, and names the offered ones', async () => {
    const { sink } = await hostileSink({ auth: { users, mechanisms: ['PLAIN', 'LOGIN'] } });
    const credentials = b64('\0alice\0s3cret');
    const lines = await converse(sink.port, `EHLO client.test\r\nAUTH ${credentials}\r\n`);
    expect(lines).toContain('504 5.5.4 Unrecognized authentication mechanism: this sink offers PLAIN LOGIN');
    expect(lines.join('\n')).not.toContain(credentials.slice(0, 12));
    expect(sink.describe()).not.toContain(credentials.slice(0, 12));
  });

  it('survives thousands of failed attempts on one connection and still authenticates', async () => {
    const { sink } = await hostileSink({ auth: { users } });
    const attempts = Array.from(
      { length: 2000 },
      (_, i) => `AUTH PLAIN ${i % 2 === 0 ? '%%%%' : b64(`\0alice\0wrong${i}`)}\r\n`,
    ).join('');
    const lines = await converse(sink.port, ['EHLO client.test\r\n', attempts, good]);
    const codes = finalCodes(lines);
    expect(codes.filter((c) => c === '501 5.5.2')).toHaveLength(1000);
    expect(codes.filter((c) => c === '535 5.7.8')).toHaveLength(1000);
    expect(codes.slice(-2)).toEqual(['235 2.7.0', '221 2.0.0']);
  });
});
