import { describe, expect, it } from 'vitest';
import { seededRandom } from '../src/behaviour/random.js';
import { DataReader } from '../src/protocol/data-reader.js';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

interface Read {
  /** Offset just past the end marker in the whole input, or -1 when the message did not end. */
  end: number;
  content: Buffer;
  size: number;
  lineTooLong: boolean;
  tooBig: boolean;
}

/** Runs a DataReader over `input` cut at the given offsets. */
function read(input: Buffer, cuts: number[] = [], maxSize = Number.POSITIVE_INFINITY, maxLine = 1000): Read {
  const parts: Buffer[] = [];
  const reader = new DataReader(maxSize, maxLine, (chunk) => parts.push(Buffer.from(chunk)));
  const bounds = [0, ...cuts, input.length];
  let end = -1;
  for (let i = 0; i + 1 < bounds.length && end < 0; i++) {
    const from = bounds[i] as number;
    const chunk = input.subarray(from, bounds[i + 1]);
    const next = reader.consume(chunk, 0);
    if (next >= 0) end = from + next;
  }
  return {
    end,
    content: Buffer.concat(parts),
    size: reader.size,
    lineTooLong: reader.lineTooLong,
    tooBig: reader.tooBig,
  };
}

/**
 * RFC 5321 §4.5.2 written the slow, obvious way: a line starts at the beginning or after CRLF; a
 * line start "." CRLF ends the message; any other leading dot is removed. Used to check the
 * streaming reader on random input.
 */
function reference(input: Buffer, maxLine: number): { end: number; content: Buffer; lineTooLong: boolean } {
  const out: number[] = [];
  let lineStart = true;
  let lineLength = 0;
  let lineTooLong = false;
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as number;
    lineLength++;
    if (c === LF) {
      if (lineLength > maxLine) lineTooLong = true;
      lineLength = 0;
    }
    if (lineStart && c === DOT) {
      lineStart = false;
      if (input[i + 1] === CR && input[i + 2] === LF) return { end: i + 3, content: Buffer.from(out), lineTooLong };
      continue;
    }
    lineStart = c === LF && i > 0 && input[i - 1] === CR;
    out.push(c);
  }
  if (lineLength > maxLine) lineTooLong = true;
  return { end: -1, content: Buffer.from(out), lineTooLong };
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('DataReader', () => {
  it('ends the message at CRLF.CRLF and keeps the CRLF before the dot as content', () => {
    const r = read(b('Subject: x\r\n\r\nbody\r\n.\r\n'));
    expect(r.end).toBe(23);
    expect(r.content.toString('latin1')).toBe('Subject: x\r\n\r\nbody\r\n');
    expect(r.size).toBe(20);
  });

  it('ends an empty message at a dot line right at the start (the DATA line gave the CRLF)', () => {
    const r = read(b('.\r\nQUIT\r\n'));
    expect(r.end).toBe(3);
    expect(r.size).toBe(0);
  });

  it('removes one leading dot from a stuffed line and keeps the rest of the line', () => {
    const r = read(b('..\r\n...x\r\n.y\r\n.\r\n'));
    expect(r.content.toString('latin1')).toBe('.\r\n..x\r\ny\r\n');
  });

  it('leaves dots that are not at the start of a line alone', () => {
    const r = read(b('a.b\r\na..\r\n.\r\n'));
    expect(r.content.toString('latin1')).toBe('a.b\r\na..\r\n');
  });

  it.each([
    ['bare LF dot bare LF', 'a\n.\nb'],
    ['CRLF dot bare LF', 'a\r\n.\nb'],
    ['bare LF dot CRLF', 'a\n.\r\nb'],
    ['bare CR dot bare CR', 'a\r.\rb'],
    ['CRLF dot bare CR', 'a\r\n.\rb'],
    ['bare CR dot CRLF', 'a\r.\r\nb'],
    ['CRLF CR dot CRLF', 'a\r\n\r.\r\nb'],
    ['LF CR dot CRLF', 'a\n\r.\r\nb'],
    ['dot CR CR LF', 'a\r\n.\r\r\nb'],
  ])('does not end the message at %s, and ends it at the real CRLF.CRLF after', (_name, smuggled) => {
    const input = b(`${smuggled}\r\n.\r\nMAIL FROM:<x@y>\r\n`);
    const r = read(input);
    const expected = reference(input, 1000);
    expect(r.end).toBe(input.indexOf('\r\n.\r\nMAIL') + 5);
    expect(r.end).toBe(expected.end);
    expect(r.content.equals(expected.content)).toBe(true);
  });

  it('gives the same content and end for every split of a message into two chunks', () => {
    const input = b('x\n.\ny\r\n.\nz\n.\r\n\r.\r\r\n.\r..\r\n.a\r\n\r\n.\r\nrest');
    const whole = read(input);
    expect(whole.end).toBe(input.length - 4);
    for (let cut = 0; cut <= input.length; cut++) {
      const r = read(input, [cut]);
      expect({ cut, end: r.end, content: r.content.toString('latin1'), size: r.size }).toEqual({
        cut,
        end: whole.end,
        content: whole.content.toString('latin1'),
        size: whole.size,
      });
    }
  });

  it('gives the same content and end when fed one byte at a time', () => {
    const input = b('x\n.\ny\r\n.\nz\n.\r\n\r.\r\r\n.\r..\r\n.a\r\n\r\n.\r\nrest');
    const cuts = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
    const r = read(input, cuts);
    const whole = read(input);
    expect(r.end).toBe(whole.end);
    expect(r.content.equals(whole.content)).toBe(true);
  });

  it('agrees with a plain reference implementation on random CR/LF/dot-heavy input and random splits', () => {
    const next = seededRandom(0x5eed);
    const alphabet = [CR, LF, DOT, DOT, CR, LF, 0x61, 0x00, 0xff, 0x20];
    for (let round = 0; round < 3000; round++) {
      // Every input gets a real end marker, so the reader never stops on a held-back ".<CR>".
      const length = 1 + Math.floor(next() * 40);
      const body = Buffer.alloc(length);
      for (let i = 0; i < length; i++) body[i] = alphabet[Math.floor(next() * alphabet.length)] as number;
      const bytes = Buffer.concat([body, b('\r\n.\r\n')]);
      const cuts = [...new Set(Array.from({ length: Math.floor(next() * 5) }, () => Math.floor(next() * bytes.length)))]
        .filter((c) => c > 0)
        .sort((x, y) => x - y);
      const maxLine = 2 + Math.floor(next() * 10);
      const expected = reference(bytes, maxLine);
      const r = read(bytes, cuts, Number.POSITIVE_INFINITY, maxLine);
      const seen = { round, end: r.end, content: r.content.toString('hex'), lineTooLong: r.lineTooLong };
      const want = {
        round,
        end: expected.end,
        content: expected.content.toString('hex'),
        lineTooLong: expected.lineTooLong,
      };
      if (JSON.stringify(seen) !== JSON.stringify(want)) {
        // Name the input so a failure can be replayed by hand.
        expect({ ...seen, input: bytes.toString('hex'), cuts }).toEqual({
          ...want,
          input: bytes.toString('hex'),
          cuts,
        });
      }
      expect(r.size).toBe(expected.content.length);
    }
  });

  it('counts the size after unstuffing', () => {
    const r = read(b('..a\r\n.\r\n'));
    expect(r.size).toBe(4);
  });

  it('accepts a message exactly at the size limit', () => {
    const content = `${'x'.repeat(18)}\r\n`;
    const r = read(b(`${content}.\r\n`), [], 20);
    expect(r.tooBig).toBe(false);
    expect(r.content.toString('latin1')).toBe(content);
  });

  it('marks a message one octet over the size limit too big and passes nothing past the limit on', () => {
    const content = `${'x'.repeat(19)}\r\n`;
    const input = b(`${content}.\r\n`);
    for (let cut = 0; cut <= input.length; cut++) {
      const r = read(input, [cut], 20);
      expect(r.tooBig).toBe(true);
      expect(r.size).toBe(21);
      expect(r.content.length).toBeLessThanOrEqual(20);
      expect(content.startsWith(r.content.toString('latin1'))).toBe(true);
      expect(r.end).toBe(input.length);
    }
  });

  it('accepts a text line of exactly the line limit including CRLF', () => {
    const r = read(b(`${'a'.repeat(998)}\r\n.\r\n`));
    expect(r.lineTooLong).toBe(false);
  });

  it('flags a text line one octet over the line limit', () => {
    const r = read(b(`${'a'.repeat(999)}\r\n.\r\n`));
    expect(r.lineTooLong).toBe(true);
    expect(r.end).toBe(1004);
  });

  it('counts a stuffed dot toward the line length, as sent on the wire', () => {
    expect(read(b(`.${'a'.repeat(997)}\r\n.\r\n`)).lineTooLong).toBe(false);
    expect(read(b(`.${'a'.repeat(998)}\r\n.\r\n`)).lineTooLong).toBe(true);
  });

  it('flags an over-long line that is still unfinished when the chunk ends', () => {
    const reader = new DataReader(Number.POSITIVE_INFINITY, 1000, undefined);
    reader.consume(Buffer.alloc(1001, 0x61), 0);
    expect(reader.lineTooLong).toBe(true);
  });

  it('passes 8-bit and NUL octets through unchanged', () => {
    const body = Buffer.from([0x00, 0x80, 0xff, 0xc3, 0xa9, 0x0d, 0x0a]);
    const r = read(Buffer.concat([body, b('.\r\n')]));
    expect(r.content.equals(body)).toBe(true);
  });

  it('starts reading at the offset it is given', () => {
    const reader = new DataReader(Number.POSITIVE_INFINITY, 1000, undefined);
    const input = b('DATA\r\nabc\r\n.\r\nQUIT\r\n');
    expect(reader.consume(input, 6)).toBe(14);
    expect(reader.size).toBe(5);
  });

  it('hands on views of the input without copying when the whole chunk is content', () => {
    const seen: Buffer[] = [];
    const reader = new DataReader(Number.POSITIVE_INFINITY, 1000, (chunk) => seen.push(chunk));
    const chunk = b('plain text\r\n');
    reader.consume(chunk, 0);
    expect(seen[0]).toBe(chunk);
  });
});
