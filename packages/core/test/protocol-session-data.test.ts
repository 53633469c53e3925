import { describe, expect, it } from 'vitest';
import { formatReply } from '../src/protocol/reply.js';
import type { SessionOutput } from '../src/protocol/types.js';
import { Client, code, codes, deliveries, RecordingObserver, replies, transcript } from './protocol-harness.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** One transaction up to the 354, ready for message octets. */
function inData(options: ConstructorParameters<typeof Client>[0] = {}): Client {
  const c = new Client(options).transaction();
  const out = c.codes('DATA\r\n');
  if (out[0] !== '354') throw new Error(`DATA got ${out.join(', ')}`);
  return c;
}

/** What one run of a message produced: wire text, sizes, content seen by the writer. */
function outcome(c: Client, out: SessionOutput[]) {
  const [delivery] = deliveries(out);
  return {
    wire: transcript(out),
    size: delivery?.size,
    accepted: delivery?.accepted,
    content: c.observer.message(0).toString('latin1'),
  };
}

describe('DATA', () => {
  it('answers DATA with 354 and delivers the message with 250 2.0.0 and its id', () => {
    const c = new Client().transaction();
    expect(c.codes('DATA\r\n')).toEqual(['354']);
    const out = c.send('Subject: hi\r\n\r\nhello\r\n.\r\n');
    const [r] = replies(out);
    expect(code(r as never)).toBe('250 2.0.0');
    expect(formatReply(r as never)).toMatch(/MSG1/);
    expect(c.observer.message(0).toString()).toBe('Subject: hi\r\n\r\nhello\r\n');
  });

  it('refuses DATA with an argument with 501 5.5.4', () => {
    const c = new Client().transaction();
    expect(c.codes('DATA now\r\n')).toEqual(['501 5.5.4']);
  });

  it('removes dot-stuffing: a leading dot is dropped and ".." becomes "."', () => {
    const c = inData();
    c.send('..\r\n.hidden\r\n...three\r\nmid.dle.\r\n.\r\n');
    expect(c.observer.message(0).toString()).toBe('.\r\nhidden\r\n..three\r\nmid.dle.\r\n');
  });

  it('reads pipelined commands after the end of the message as commands', () => {
    const c = inData();
    expect(c.codes('x\r\n.\r\nRSET\r\nNOOP\r\n')).toEqual(['250 2.0.0', '250 2.0.0', '250 2.0.0']);
  });

  it('treats command text inside the message as content', () => {
    const c = inData();
    expect(c.codes('QUIT\r\nRSET\r\n.\r\n')).toEqual(['250 2.0.0']);
    expect(c.observer.message(0).toString()).toBe('QUIT\r\nRSET\r\n');
    expect(c.session.closed).toBe(false);
  });

  it.each([
    ['\\n.\\n', '\n.\n'],
    ['\\r\\n.\\n', '\r\n.\n'],
    ['\\n.\\r\\n', '\n.\r\n'],
    ['\\r.\\r', '\r.\r'],
    ['\\r\\n.\\r', '\r\n.\r'],
    ['\\r.\\r\\n', '\r.\r\n'],
    ['\\r\\r\\n.\\r\\n (bare CR in front of a real line end)', 'a\r\r\n.\r\r\n'],
    ['\\n\\r.\\r\\n', '\n\r.\r\n'],
  ])('does not end the message at %s, and ends it at the real CRLF.CRLF afterwards', (_name, smuggle) => {
    const c = inData();
    const out = c.send(`first${smuggle}MAIL FROM:<evil@x.org>\r\nRCPT TO:<victim@x.org>\r\nDATA\r\nforged\r\n.\r\n`);
    expect(codes(out)).toEqual(['250 2.0.0']);
    expect(c.observer.message(0).toString('latin1')).toContain('MAIL FROM:<evil@x.org>');
    expect(c.observer.of('transactionStarted')).toHaveLength(1);
  });

  it('gives identical replies, size and content for every split of a message into two feeds', () => {
    const message = b(
      'Subject: smuggling\r\n\r\nline\n.\nx\r\n.\ny\n.\r\nz\r.\r\n\r\n.\rq\r\n..\r\n.dot\r\n\xe9\xff\x00\r\n.\r\nNOOP\r\n',
    );
    const whole = inData();
    const expected = outcome(whole, whole.send(message));
    expect(expected.wire).toMatch(/^250 2\.0\.0 .*\r\n250 2\.0\.0 OK\r\n$/);
    for (let cut = 0; cut <= message.length; cut++) {
      const c = inData();
      const got = outcome(c, c.sendSplit([message.subarray(0, cut), message.subarray(cut)]));
      expect({ cut, ...got }).toEqual({ cut, ...expected });
    }
  });

  it('gives identical replies, size and content when the message arrives one byte at a time', () => {
    const message = b('a\r\n..b\r\n.\rc\n.\nd\r\n.\r\nNOOP\r\n');
    const whole = inData();
    const expected = outcome(whole, whole.send(message));
    const c = inData();
    const got = outcome(c, c.sendSplit(Array.from(message, (byte) => Buffer.from([byte]))));
    expect(got).toEqual(expected);
  });

  it('passes 8-bit octets through unchanged', () => {
    const c = inData();
    const body = Buffer.from([0xe2, 0x82, 0xac, 0x80, 0xff, 0xfe, 0x00, 0x0d, 0x0a]);
    c.send(Buffer.concat([body, b('.\r\n')]));
    expect(c.observer.message(0).equals(body)).toBe(true);
  });

  it('accepts a message of exactly maxMessageSize octets', () => {
    const content = `${'x'.repeat(98)}\r\n`;
    const c = inData({ maxMessageSize: 100 });
    const out = c.send(`${content}.\r\n`);
    expect(codes(out)).toEqual(['250 2.0.0']);
    expect(deliveries(out)[0]).toMatchObject({ accepted: true, size: 100 });
    expect(c.observer.message(0).toString()).toBe(content);
  });

  it('refuses a message one octet over maxMessageSize with 552 5.3.4 and passes nothing past the limit on', () => {
    const content = `${'x'.repeat(99)}\r\n`;
    const c = inData({ maxMessageSize: 100 });
    const out = c.sendSplit([content.slice(0, 60), content.slice(60), '.\r\n']);
    expect(codes(out)).toEqual(['552 5.3.4']);
    expect(formatReply(replies(out)[0] as never)).toMatch(/maxMessageSize/);
    expect(deliveries(out)[0]).toMatchObject({ accepted: false, size: 101 });
    expect(c.observer.message(0).length).toBeLessThanOrEqual(100);
    expect(content.startsWith(c.observer.message(0).toString())).toBe(true);
  });

  it('reads an over-size message to its end and goes on with the session', () => {
    const c = inData({ maxMessageSize: 10 });
    const big = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 4; i++) expect(c.send(big)).toEqual([]);
    expect(c.codes('\r\n.\r\nNOOP\r\n')).toEqual(['552 5.3.4', '250 2.0.0']);
  });

  it('has no size limit when maxMessageSize is 0', () => {
    const c = inData({ maxMessageSize: 0 });
    const lines = b(`${'a'.repeat(98)}\r\n`.repeat(32 * 1024));
    c.send(lines);
    const [delivery] = deliveries(c.send('.\r\n'));
    expect(delivery).toMatchObject({ accepted: true, size: lines.length });
  });

  it('accepts a text line of exactly 1000 octets including CRLF', () => {
    const c = inData();
    expect(c.codes(`${'a'.repeat(998)}\r\n.\r\n`)).toEqual(['250 2.0.0']);
  });

  it('refuses a message with a 1001-octet line with 554 5.6.0 naming the option', () => {
    const c = inData();
    const out = c.send(`short\r\n${'a'.repeat(999)}\r\nshort\r\n.\r\n`);
    expect(codes(out)).toEqual(['554 5.6.0']);
    expect(formatReply(replies(out)[0] as never)).toMatch(/maxDataLineLength/);
    expect(deliveries(out)[0]?.accepted).toBe(false);
  });

  it('has no line limit when maxDataLineLength is 0', () => {
    const c = inData({ maxDataLineLength: 0 });
    expect(c.codes(`${'a'.repeat(100_000)}\r\n.\r\n`)).toEqual(['250 2.0.0']);
  });

  it('refuses DATA for BODY=BINARYMIME with 503 5.5.1', () => {
    const c = new Client().transaction(['r@example.org'], 'BODY=BINARYMIME');
    expect(c.codes('DATA\r\n')).toEqual(['503 5.5.1']);
  });

  it('counts the message size after dot-unstuffing', () => {
    const c = inData();
    const [delivery] = deliveries(c.send('..\r\n.\r\n'));
    expect(delivery?.size).toBe(3);
  });

  it('delivers an empty message', () => {
    const c = inData();
    const [delivery] = deliveries(c.send('.\r\n'));
    expect(delivery).toMatchObject({ accepted: true, size: 0 });
  });

  it('does not ask for a writer when content is not kept, and still counts the size', () => {
    const c = new Client({}, new RecordingObserver(false)).transaction();
    const [delivery] = deliveries(c.send('DATA\r\nabc\r\n.\r\n'));
    expect(delivery).toMatchObject({ accepted: true, size: 5 });
    expect(delivery?.writer).toBeUndefined();
  });

  it('starts a fresh transaction after a delivery', () => {
    const c = inData();
    c.send('x\r\n.\r\n');
    expect(c.codes('RCPT TO:<a@b.c>\r\nDATA\r\nMAIL FROM:<a@b.c>\r\n')).toEqual([
      '503 5.5.1',
      '503 5.5.1',
      '250 2.1.0',
    ]);
  });
});
