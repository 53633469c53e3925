import { describe, expect, it } from 'vitest';
import { formatReply } from '../src/protocol/reply.js';
import { Client, code, codes, deliveries, replies, types } from './protocol-harness.js';

describe('BDAT', () => {
  it('delivers a single chunk sent with LAST', () => {
    const c = new Client().transaction();
    const out = c.send('BDAT 5 LAST\r\nhello');
    expect(codes(out)).toEqual(['250 2.0.0']);
    expect(deliveries(out)[0]).toMatchObject({ accepted: true, size: 5, via: 'BDAT' });
    expect(c.observer.message(0).toString()).toBe('hello');
  });

  it('answers each chunk with its octet count and delivers on LAST', () => {
    const c = new Client().transaction();
    expect(c.codes('BDAT 3\r\nabc')).toEqual(['250 2.0.0']);
    const r = c.reply('BDAT 2\r\nde');
    expect(formatReply(r)).toMatch(/^250 2\.0\.0 2 octets/);
    const out = c.send('BDAT 4 LAST\r\nfghi');
    expect(deliveries(out)[0]).toMatchObject({ accepted: true, size: 9 });
    expect(c.observer.message(0).toString()).toBe('abcdefghi');
  });

  it('delivers with BDAT 0 LAST after earlier chunks', () => {
    const c = new Client().transaction();
    const out = c.send('BDAT 3\r\nabcBDAT 0 LAST\r\n');
    expect(codes(out)).toEqual(['250 2.0.0', '250 2.0.0']);
    expect(deliveries(out)[0]).toMatchObject({ accepted: true, size: 3 });
  });

  it('delivers an empty message with BDAT 0 LAST alone', () => {
    const c = new Client().transaction();
    expect(deliveries(c.send('BDAT 0 LAST\r\n'))[0]).toMatchObject({ accepted: true, size: 0 });
  });

  it('takes chunk octets literally: CRLF.CRLF, dots and command text are content', () => {
    const c = new Client().transaction();
    const chunk = '\r\n.\r\nQUIT\r\n..\r\n';
    const out = c.send(`BDAT ${chunk.length} LAST\r\n${chunk}NOOP\r\n`);
    expect(codes(out)).toEqual(['250 2.0.0', '250 2.0.0']);
    expect(c.observer.message(0).toString()).toBe(chunk);
    expect(c.session.closed).toBe(false);
  });

  it('handles chunks mixed with pipelined commands in one feed', () => {
    const c = new Client();
    c.open();
    const out = c.send(
      'EHLO a\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 4\r\nRSETBDAT 4 LAST\r\nNOOPMAIL FROM:<x@y.z>\r\nRSET\r\n',
    );
    expect(codes(out)).toEqual(['250', '250 2.1.0', '250 2.1.5', '250 2.0.0', '250 2.0.0', '250 2.1.0', '250 2.0.0']);
    expect(c.observer.message(0).toString()).toBe('RSETNOOP');
  });

  it('gives identical results for every split of a chunked stream', () => {
    const stream = 'BDAT 6\r\nab\r\n.\r\nBDAT 3 LAST\r\nxyzNOOP\r\n';
    const whole = new Client().transaction();
    const expected = { wire: codes(whole.send(stream)), content: whole.observer.message(0).toString() };
    for (let cut = 0; cut <= stream.length; cut++) {
      const c = new Client().transaction();
      const wire = codes(c.sendSplit([stream.slice(0, cut), stream.slice(cut)]));
      expect({ cut, wire, content: c.observer.message(0).toString() }).toEqual({ cut, ...expected });
    }
  });

  it('consumes the octets of a BDAT without MAIL, then refuses it with 503 5.5.1', () => {
    const c = new Client().ready();
    const out = c.send('BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n');
    expect(codes(out)).toEqual(['503 5.5.1', '250 2.0.0']);
    expect(c.session.closed).toBe(false);
  });

  it('consumes the octets of a BDAT before any RCPT, then lets the transaction go on once a recipient is given', () => {
    const c = new Client().ready();
    c.send('MAIL FROM:<a@b.c>\r\n');
    expect(c.codes('BDAT 4\r\nQUIT')).toEqual(['503 5.5.1']);
    expect(c.codes('RCPT TO:<d@e.f>\r\nBDAT 2 LAST\r\nok')).toEqual(['250 2.1.5', '250 2.0.0']);
    expect(c.observer.message(0).toString()).toBe('ok');
  });

  it('refuses a chunk that makes the message too big with 552 5.3.4, then every further chunk with 503 until RSET', () => {
    const c = new Client({ maxMessageSize: 10 }).transaction();
    expect(c.codes('BDAT 8\r\n12345678')).toEqual(['250 2.0.0']);
    const tooBig = c.send('BDAT 3\r\n9ab');
    expect(codes(tooBig)).toEqual(['552 5.3.4']);
    expect(c.codes('BDAT 1\r\nx')).toEqual(['503 5.5.1']);
    expect(c.codes('BDAT 2 LAST\r\nQU')).toEqual(['503 5.5.1']);
    expect(c.observer.message(0).toString()).toBe('12345678');
    expect(c.codes('RSET\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 1 LAST\r\nz')).toEqual([
      '250 2.0.0',
      '250 2.1.0',
      '250 2.1.5',
      '250 2.0.0',
    ]);
  });

  it('accepts BDAT chunks that add up to exactly maxMessageSize', () => {
    const c = new Client({ maxMessageSize: 10 }).transaction();
    const out = c.send('BDAT 4\r\n1234BDAT 6 LAST\r\n567890');
    expect(codes(out)).toEqual(['250 2.0.0', '250 2.0.0']);
    expect(deliveries(out)[0]).toMatchObject({ accepted: true, size: 10 });
  });

  it('refuses a last chunk that goes one octet over maxMessageSize, with a refused delivery', () => {
    const c = new Client({ maxMessageSize: 10 }).transaction();
    const out = c.send('BDAT 11 LAST\r\n12345678901NOOP\r\n');
    expect(codes(out)).toEqual(['552 5.3.4', '250 2.0.0']);
    expect(deliveries(out)[0]).toMatchObject({ accepted: false, size: 11 });
    expect(c.observer.message(0).length).toBeLessThanOrEqual(10);
  });

  it('refuses DATA after BDAT in the same transaction with 503 5.5.1', () => {
    const c = new Client().transaction();
    c.send('BDAT 2\r\nab');
    expect(c.codes('DATA\r\n')).toEqual(['503 5.5.1']);
  });

  it('delivers BODY=BINARYMIME with BDAT', () => {
    const c = new Client().transaction(['r@example.org'], 'BODY=BINARYMIME');
    const binary = Buffer.from([0, 1, 2, 0x0d, 0xff, 0x0a, 0x2e]);
    const out = c.send(Buffer.concat([Buffer.from(`BDAT ${binary.length} LAST\r\n`), binary]));
    expect(deliveries(out)[0]).toMatchObject({ accepted: true, body: 'BINARYMIME' });
    expect(c.observer.message(0).equals(binary)).toBe(true);
  });

  it.each(['BDAT', 'BDAT x', 'BDAT -1', 'BDAT 5 NOTLAST', 'BDAT 1234567890123456'])(
    'answers "%s" with 501 then closes with 421, because the chunk end is lost',
    (line) => {
      const c = new Client().transaction();
      const out = c.send(`${line}\r\nNOOP\r\n`);
      expect(codes(out)).toEqual(['501 5.5.4', '421 4.5.0']);
      expect(types(out).at(-1)).toBe('close');
    },
  );

  it('lets a large chunk arrive in many feeds without replying early', () => {
    const c = new Client().transaction();
    expect(c.send('BDAT 100000 LAST\r\n')).toEqual([]);
    for (let i = 0; i < 9; i++) expect(c.send(Buffer.alloc(10_000, 0x61))).toEqual([]);
    const out = c.send(Buffer.alloc(10_000, 0x62));
    expect(deliveries(out)[0]).toMatchObject({ accepted: true, size: 100_000 });
    expect(c.session.inMessage).toBe(false);
  });

  it('reports the session as in a message while chunk octets are outstanding', () => {
    const c = new Client().transaction();
    c.send('BDAT 10\r\nabc');
    expect(c.session.inMessage).toBe(true);
    expect(code(c.reply('defghij'))).toBe('250 2.0.0');
    expect(c.session.inMessage).toBe(false);
  });

  it('answers a too-big chunk and the chunk after it with one reply each', () => {
    const c = new Client({ maxMessageSize: 1 }).transaction();
    const out = c.send('BDAT 2\r\nabBDAT 2\r\ncd');
    expect(replies(out).map(code)).toEqual(['552 5.3.4', '503 5.5.1']);
  });
});
