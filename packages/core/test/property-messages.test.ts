import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatReply } from '../src/protocol/reply.js';
import { cutsOf, plainSetup, rawCuts, runSession, type Setup, smtpStream } from './property-streams.js';
import { smugglingMarkers } from './smuggling.js';

// Model-based properties of message transfer: whatever octets a message holds (dots at line start,
// bare CR, bare LF, smuggled commands), a client that follows RFC 5321 gets exactly that message
// delivered, once, however its stream is split; and no octet of a message ever runs as a command.

const start = 'EHLO client.test\r\nMAIL FROM:<sender@client.test>\r\nRCPT TO:<rcpt@sink.test>\r\n';
const setup: Setup = { ...plainSetup, maxInvalidCommands: 10_000 };

/** A line of message text: any octets but CRLF (which would end the line). Bare CR and LF are kept. */
const textLine = fc
  .oneof(
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1')),
    fc.constantFrom(
      '.',
      '..',
      '.\r',
      '.\n',
      '\n.',
      '\r.',
      '\n.\n',
      '\r.\r',
      'MAIL FROM:<smuggled@evil.test>',
      'QUIT',
      '',
    ),
    fc
      .array(fc.constantFrom('.', '\r', '\n', 'a', ' ', 'MAIL FROM:<smuggled@evil.test>'), { maxLength: 8 })
      .map((parts) => parts.join('')),
  )
  .map((line) => line.replace(/\r\n/g, '\n'))
  // A trailing CR would join the CRLF that ends the line into "\r\r\n": still no CRLF inside.
  .filter((line) => !line.includes('\r\n'));

/** The client side of DATA (RFC 5321 §4.5.2): each line that starts with a dot gets one more. */
function dotStuff(lines: readonly string[]): string {
  return lines.map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n') + (lines.length > 0 ? '\r\n' : '');
}

describe('DATA transfers any message exactly', () => {
  it('delivers every octet of the message once, however the stream is split', () => {
    fc.assert(
      fc.property(fc.array(textLine, { maxLength: 12 }), rawCuts, (lines, raw) => {
        const input = Buffer.from(`${start}DATA\r\n${dotStuff(lines)}.\r\nNOOP\r\n`, 'latin1');
        const run = runSession(input, cutsOf(input.length, raw), setup);
        const expected = lines.length === 0 ? '' : `${lines.join('\r\n')}\r\n`;
        expect(run.messages).toEqual([expected]);
        expect(run.deliveries.map((d) => [d.accepted, d.size])).toEqual([[true, expected.length]]);
        expect(run.transactions).toEqual(['sender@client.test']);
        // The session is back at the command level: NOOP is a command, not message text.
        expect(run.wire.endsWith('250 2.0.0 OK\r\n')).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });

  const smuggles = [...smugglingMarkers, '\r\n.\r\r\n', '\r\n. \r\n'];

  it('never ends a message at a bare CR or bare LF variant of the end marker, nor runs what follows', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...smuggles),
        fc.constantFrom('', 'text', 'Subject: x\r\n\r\nbody'),
        fc.boolean(),
        rawCuts,
        (smuggle, before, pipelined, raw) => {
          const smuggled = 'MAIL FROM:<smuggled@evil.test>\r\nRCPT TO:<victim@sink.test>\r\nDATA\r\nsmuggled body';
          const tail = pipelined ? 'MAIL FROM:<next@client.test>\r\n' : 'NOOP\r\n';
          const input = Buffer.from(`${start}DATA\r\n${before}${smuggle}${smuggled}\r\n.\r\n${tail}`, 'latin1');
          const run = runSession(input, cutsOf(input.length, raw), setup);
          expect(run.deliveries).toHaveLength(1);
          expect(run.deliveries[0]?.sender).toBe('sender@client.test');
          expect(run.messages[0]).toContain('MAIL FROM:<smuggled@evil.test>');
          expect(run.transactions).toEqual(
            pipelined ? ['sender@client.test', 'next@client.test'] : ['sender@client.test'],
          );
          expect(run.transactions).not.toContain('smuggled@evil.test');
        },
      ),
      { numRuns: 600 },
    );
  });
});

describe('BDAT transfers any message exactly', () => {
  it('delivers the chunks joined, answering each chunk, however the stream is split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 80 }), { minLength: 1, maxLength: 6 }),
        rawCuts,
        (chunks, raw) => {
          const wire = chunks
            .map(
              (c, i) =>
                `BDAT ${c.length}${i === chunks.length - 1 ? ' LAST' : ''}\r\n${Buffer.from(c).toString('latin1')}`,
            )
            .join('');
          const input = Buffer.from(`${start}${wire}NOOP\r\n`, 'latin1');
          const run = runSession(input, cutsOf(input.length, raw), setup);
          const expected = Buffer.concat(chunks).toString('latin1');
          expect(run.messages).toEqual([expected]);
          expect(run.deliveries.map((d) => [d.accepted, d.size, d.via])).toEqual([[true, expected.length, 'BDAT']]);
          const codes = run.output.flatMap((o) => (o.type === 'reply' ? [o.reply.code] : []));
          // Greeting, EHLO, MAIL, RCPT, one 250 per chunk, NOOP.
          expect(codes).toEqual([220, 250, 250, 250, ...chunks.map(() => 250), 250]);
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe('STARTTLS', () => {
  it('lets nothing pipelined after STARTTLS in plaintext reach the TLS session', () => {
    fc.assert(
      fc.property(smtpStream, fc.boolean(), (injected, partial) => {
        const continuation = Buffer.from(
          'EHLO client.test\r\nRCPT TO:<rcpt@sink.test>\r\nMAIL FROM:<a@b.c>\r\nQUIT\r\n',
        );
        const tail = partial ? Buffer.from('MAIL FROM:<half') : Buffer.alloc(0);
        const after = (plaintext: Buffer): string => {
          const run = runSession(Buffer.from('EHLO client.test\r\n'), [], { ...setup, starttls: true });
          const session = run.session;
          session.feed(Buffer.concat([Buffer.from('STARTTLS\r\n'), plaintext]));
          session.output.length = 0;
          session.tlsStarted({ protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', mode: 'starttls' });
          session.feed(continuation);
          return session.output.map((o) => (o.type === 'reply' ? formatReply(o.reply) : `[${o.type}]`)).join('');
        };
        expect(after(Buffer.concat([injected, tail]))).toBe(after(Buffer.alloc(0)));
      }),
      { numRuns: 800 },
    );
  });
});
