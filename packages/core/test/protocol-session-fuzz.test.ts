import { describe, expect, it } from 'vitest';
import { seededRandom } from '../src/behaviour/random.js';
import { replies as catalogue } from '../src/protocol/replies.js';
import type { AuthProvider } from '../src/protocol/types.js';
import { Client, transcript } from './protocol-harness.js';

const auth: AuthProvider = {
  mechanisms: ['PLAIN'],
  required: false,
  requireTls: false,
  begin: () => ({
    respond: (response) => (response === null ? { challenge: '' } : { reject: catalogue.authFailed }),
  }),
};

/** Pieces of client traffic, valid and not, in and out of sequence. */
const vocabulary = [
  'EHLO a\r\n',
  'HELO a\r\n',
  'MAIL FROM:<a@b.c>\r\n',
  'MAIL FROM:<a@b.c> BODY=BINARYMIME SIZE=5\r\n',
  'RCPT TO:<d@e.f>\r\n',
  'RCPT TO:<postmaster>\r\n',
  'DATA\r\n',
  'text\r\n',
  '.\r\n',
  '..stuffed\r\n',
  '\n.\n',
  '\r\n.\r',
  'BDAT 3\r\nabc',
  'BDAT 4\r\n.\r\n\n',
  'BDAT 0 LAST\r\n',
  'BDAT 2 LAST\r\nxy',
  'RSET\r\n',
  'NOOP\r\n',
  'FROB\r\n',
  'VRFY x\r\n',
  'AUTH PLAIN\r\n',
  'AUTH PLAIN AHVAcA==\r\n',
  '*\r\n',
  `NOOP ${'x'.repeat(600)}\r\n`,
  'MAIL FROM:<\xff@b.c>\r\n',
  '\x00\r\n',
];

function run(input: Buffer, cuts: number[]): { wire: string; messages: string[] } {
  const c = new Client({ maxMessageSize: 12, maxInvalidCommands: 1000, auth, starttls: true });
  c.session.start();
  const bounds = [0, ...cuts, input.length];
  for (let i = 0; i + 1 < bounds.length; i++) c.session.feed(input.subarray(bounds[i], bounds[i + 1]));
  return {
    wire: transcript(c.take()),
    messages: c.observer.messages.map((parts) => Buffer.concat(parts).toString('latin1')),
  };
}

describe('session under random traffic', () => {
  it('answers the same, and keeps the same messages, however the stream is split', () => {
    const next = seededRandom(2920);
    for (let round = 0; round < 400; round++) {
      const pieces = Array.from(
        { length: 1 + Math.floor(next() * 30) },
        () => vocabulary[Math.floor(next() * vocabulary.length)],
      );
      const input = Buffer.from(pieces.join(''), 'latin1');
      const whole = run(input, []);
      const cuts = [
        ...new Set(Array.from({ length: Math.floor(next() * 8) }, () => 1 + Math.floor(next() * input.length))),
      ]
        .filter((c) => c < input.length)
        .sort((a, b) => a - b);
      expect({ round, cuts, ...run(input, cuts) }).toEqual({ round, cuts, ...whole });
    }
  });

  it('answers the same when every byte arrives alone', () => {
    const next = seededRandom(3030);
    for (let round = 0; round < 40; round++) {
      const pieces = Array.from({ length: 20 }, () => vocabulary[Math.floor(next() * vocabulary.length)]);
      const input = Buffer.from(pieces.join(''), 'latin1');
      const cuts = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
      expect({ round, ...run(input, cuts) }).toEqual({ round, ...run(input, []) });
    }
  });
});
