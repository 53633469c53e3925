import { describe, expect, it } from 'vitest';
import { CommandLineReader, type LineResult } from '../src/protocol/line-reader.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Every line result of a sequence of chunks, lines as text, too-long lines as `null`. */
function lines(reader: CommandLineReader, chunks: Buffer[]): Array<string | null> {
  const out: Array<string | null> = [];
  for (const chunk of chunks) {
    let pos = 0;
    for (;;) {
      const r: LineResult = reader.next(chunk, pos);
      if (r === undefined) break;
      out.push('tooLong' in r ? null : r.line.toString('latin1'));
      pos = r.next;
    }
  }
  return out;
}

describe('CommandLineReader', () => {
  it('splits pipelined CRLF lines out of one chunk, without their line endings', () => {
    expect(lines(new CommandLineReader(512), [b('EHLO a\r\nNOOP\r\nQUIT\r\n')])).toEqual(['EHLO a', 'NOOP', 'QUIT']);
  });

  it('accepts a line that ends with a bare LF', () => {
    expect(lines(new CommandLineReader(512), [b('NOOP\nQUIT\r\n')])).toEqual(['NOOP', 'QUIT']);
  });

  it('returns the same lines for every split of the input into two chunks', () => {
    const input = b('EHLO a\r\nMAIL FROM:<a@b>\r\n\r\nX\n');
    for (let cut = 0; cut <= input.length; cut++) {
      const got = lines(new CommandLineReader(512), [input.subarray(0, cut), input.subarray(cut)]);
      expect({ cut, got }).toEqual({ cut, got: ['EHLO a', 'MAIL FROM:<a@b>', '', 'X'] });
    }
  });

  it('keeps an unfinished line for the next chunk and reports it as partial', () => {
    const reader = new CommandLineReader(512);
    expect(reader.next(b('NO'), 0)).toBeUndefined();
    expect(reader.hasPartialLine).toBe(true);
    const r = reader.next(b('OP\r\n'), 0);
    expect(r !== undefined && 'line' in r && r.line.toString()).toBe('NOOP');
    expect(reader.hasPartialLine).toBe(false);
  });

  it('copies a partial line so the caller may reuse its chunk buffer', () => {
    const reader = new CommandLineReader(512);
    const chunk = b('NO');
    reader.next(chunk, 0);
    chunk.write('XX');
    expect(lines(reader, [b('OP\r\n')])).toEqual(['NOOP']);
  });

  it('accepts a line of exactly the limit including CRLF, split anywhere', () => {
    const input = b(`${'a'.repeat(510)}\r\n`);
    for (const cut of [0, 1, 255, 509, 510, 511, 512]) {
      const got = lines(new CommandLineReader(512), [input.subarray(0, cut), input.subarray(cut)]);
      expect({ cut, got }).toEqual({ cut, got: ['a'.repeat(510)] });
    }
  });

  it('reports a line one octet over the limit as too long, split anywhere', () => {
    const input = b(`${'a'.repeat(511)}\r\nNOOP\r\n`);
    for (const cut of [0, 1, 255, 510, 511, 512, 513]) {
      const got = lines(new CommandLineReader(512), [input.subarray(0, cut), input.subarray(cut)]);
      expect({ cut, got }).toEqual({ cut, got: [null, 'NOOP'] });
    }
  });

  it('counts the limit with a bare LF as one octet of line ending', () => {
    expect(lines(new CommandLineReader(512), [b(`${'a'.repeat(511)}\n`)])).toEqual(['a'.repeat(511)]);
    expect(lines(new CommandLineReader(512), [b(`${'a'.repeat(512)}\n`)])).toEqual([null]);
  });

  it('reports an endless line once, after its end, and never holds more than the limit', () => {
    const reader = new CommandLineReader(512);
    const megabyte = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 8; i++) {
      expect(reader.next(megabyte, 0)).toBeUndefined();
      // The reader keeps no copy of the over-long line: only the fact that it is over-long.
      expect((reader as unknown as { pending: Buffer | undefined }).pending).toBeUndefined();
    }
    expect(lines(reader, [b('\r\nNOOP\r\n')])).toEqual([null, 'NOOP']);
  });

  it('reports a long line that arrives after a short partial line as too long without joining them', () => {
    const reader = new CommandLineReader(512);
    expect(lines(reader, [b('MAIL'), Buffer.concat([Buffer.alloc(1024 * 1024, 0x61), b('\r\nNOOP\r\n')])])).toEqual([
      null,
      'NOOP',
    ]);
  });

  it('forgets a partial line on clear()', () => {
    const reader = new CommandLineReader(512);
    reader.next(b('MAIL FROM:<evil@x>'), 0);
    reader.clear();
    expect(lines(reader, [b('NOOP\r\n')])).toEqual(['NOOP']);
  });

  it('applies a raised limit to the next line', () => {
    const reader = new CommandLineReader(512);
    reader.limit = 2048;
    expect(lines(reader, [b(`${'a'.repeat(2046)}\r\n`)])).toEqual(['a'.repeat(2046)]);
  });

  it('strips only one CR before the LF', () => {
    expect(lines(new CommandLineReader(512), [b('NOOP\r\r\n')])).toEqual(['NOOP\r']);
  });
});
