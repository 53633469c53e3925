import { describe, expect, it } from 'vitest';
import { replies as catalogue } from '../src/protocol/replies.js';
import { formatReply } from '../src/protocol/reply.js';
import type { AuthProvider } from '../src/protocol/types.js';
import { Client, code, codes, keywords, replies, tlsInfo, transcript, types } from './protocol-harness.js';

const auth: AuthProvider = {
  mechanisms: ['PLAIN', 'LOGIN'],
  required: false,
  requireTls: false,
  begin: () => undefined,
};

describe('greeting', () => {
  it('greets with 220, the host name and no enhanced code', () => {
    const c = new Client({ hostname: 'mx.sink.test' });
    c.session.start();
    const out = c.take();
    expect(transcript(out)).toBe(formatReply(catalogue.greeting('mx.sink.test')));
    expect(replies(out)[0]).toMatchObject({ code: 220, enhanced: undefined });
    expect(formatReply(replies(out)[0] as never)).toMatch(/^220 mx\.sink\.test ESMTP/);
  });

  it('greets as LMTP when the session speaks LMTP', () => {
    const c = new Client({ lmtp: true });
    c.session.start();
    expect(transcript(c.take())).toMatch(/^220 sink\.test LMTP /);
  });
});

describe('HELO, EHLO and LHLO', () => {
  it('answers EHLO with the host name, the client name and every ESMTP keyword', () => {
    const c = new Client({ maxMessageSize: 5000 });
    c.open();
    const r = c.reply('EHLO client.test\r\n');
    expect(r.code).toBe(250);
    expect(r.enhanced).toBeUndefined();
    expect((r.text as string[])[0]).toBe('sink.test greets client.test');
    expect(keywords(r)).toEqual([
      'PIPELINING',
      'SIZE 5000',
      '8BITMIME',
      'BINARYMIME',
      'CHUNKING',
      'SMTPUTF8',
      'ENHANCEDSTATUSCODES',
      'DSN',
      'HELP',
    ]);
    expect(formatReply(r).split('\r\n').slice(0, 2)).toEqual(['250-sink.test greets client.test', '250-PIPELINING']);
    expect(formatReply(r)).toMatch(/\r\n250 HELP\r\n$/);
  });

  it('advertises SIZE 0 when there is no size limit', () => {
    const c = new Client({ maxMessageSize: 0 });
    c.open();
    expect(keywords(c.reply('EHLO a\r\n'))).toContain('SIZE 0');
  });

  it('advertises STARTTLS only when it is offered', () => {
    const plain = new Client();
    plain.open();
    expect(keywords(plain.reply('EHLO a\r\n'))).not.toContain('STARTTLS');
    const offered = new Client({ starttls: true });
    offered.open();
    expect(keywords(offered.reply('EHLO a\r\n'))).toContain('STARTTLS');
  });

  it('does not advertise STARTTLS on a connection that already has TLS', () => {
    const c = new Client({ starttls: true }, undefined, { ...tlsInfo, mode: 'implicit' });
    c.open();
    expect(keywords(c.reply('EHLO a\r\n'))).not.toContain('STARTTLS');
  });

  it('advertises AUTH with the mechanisms only when an auth provider is set', () => {
    const without = new Client();
    without.open();
    expect(keywords(without.reply('EHLO a\r\n')).some((k) => k.startsWith('AUTH'))).toBe(false);
    const withAuth = new Client({ auth });
    withAuth.open();
    expect(keywords(withAuth.reply('EHLO a\r\n'))).toContain('AUTH PLAIN LOGIN');
  });

  it('withholds AUTH until TLS when the provider requires TLS', () => {
    const c = new Client({ auth: { ...auth, requireTls: true }, starttls: true });
    c.open();
    expect(keywords(c.reply('EHLO a\r\n')).some((k) => k.startsWith('AUTH'))).toBe(false);
    const secure = new Client({ auth: { ...auth, requireTls: true } }, undefined, tlsInfo);
    secure.open();
    expect(keywords(secure.reply('EHLO a\r\n'))).toContain('AUTH PLAIN LOGIN');
  });

  it('answers HELO with one line and no keywords', () => {
    const c = new Client();
    c.open();
    const r = c.reply('HELO client.test\r\n');
    expect(formatReply(r)).toBe('250 sink.test greets client.test\r\n');
  });

  it('accepts an address literal as the client name', () => {
    const c = new Client();
    c.open();
    expect(c.reply('EHLO [127.0.0.1]\r\n').code).toBe(250);
  });

  it.each(['EHLO', 'HELO', 'EHLO   ', 'EHLO two names'])('refuses "%s" with 501 5.5.4', (line) => {
    const c = new Client();
    c.open();
    expect(c.codes(`${line}\r\n`)).toEqual(['501 5.5.4']);
  });

  it('takes commands in any letter case', () => {
    const c = new Client();
    c.open();
    expect(c.codes('ehlo a\r\nmail from:<a@b.c>\r\nrcpt to:<d@e.f>\r\nrset\r\n')).toEqual([
      '250',
      '250 2.1.0',
      '250 2.1.5',
      '250 2.0.0',
    ]);
  });

  it('speaks LMTP with LHLO and the same keywords', () => {
    const c = new Client({ lmtp: true });
    c.open();
    const r = c.reply('LHLO client.test\r\n');
    expect(r.code).toBe(250);
    expect(keywords(r)).toContain('PIPELINING');
  });

  it('refuses EHLO and HELO on an LMTP session with 500 and says to send LHLO', () => {
    const c = new Client({ lmtp: true });
    c.open();
    const ehlo = c.reply('EHLO a\r\n');
    expect(code(ehlo)).toBe('500 5.5.1');
    expect(formatReply(ehlo)).toMatch(/LHLO/);
    expect(c.codes('HELO a\r\n')).toEqual(['500 5.5.1']);
  });

  it('treats LHLO on an SMTP session as an unknown command', () => {
    const c = new Client();
    c.open();
    expect(c.codes('LHLO a\r\n')).toEqual(['500 5.5.2']);
  });

  it('starts over with a second EHLO, dropping the open transaction', () => {
    const c = new Client().transaction();
    expect(c.codes('EHLO again\r\nMAIL FROM:<x@y.z>\r\nDATA\r\n')).toEqual(['250', '250 2.1.0', '503 5.5.1']);
  });
});

describe('simple commands', () => {
  it('answers NOOP with 250 2.0.0, with or without an argument, before EHLO too', () => {
    const c = new Client();
    c.open();
    expect(c.codes('NOOP\r\nNOOP anything\r\n')).toEqual(['250 2.0.0', '250 2.0.0']);
  });

  it('answers VRFY with 252 2.0.0', () => {
    const c = new Client().ready();
    expect(c.codes('VRFY postmaster\r\n')).toEqual(['252 2.0.0']);
  });

  it('refuses VRFY without an argument with 501 5.5.4', () => {
    const c = new Client().ready();
    expect(c.codes('VRFY\r\n')).toEqual(['501 5.5.4']);
  });

  it('answers HELP with 214', () => {
    const c = new Client().ready();
    expect(c.codes('HELP\r\nHELP MAIL\r\n')).toEqual(['214 2.0.0', '214 2.0.0']);
  });

  it('answers RSET with 250 and discards the transaction', () => {
    const c = new Client().transaction();
    expect(c.codes('RSET\r\nDATA\r\nMAIL FROM:<a@b.c>\r\n')).toEqual(['250 2.0.0', '503 5.5.1', '250 2.1.0']);
  });

  it('refuses RSET with an argument with 501 5.5.4', () => {
    const c = new Client().ready();
    expect(c.codes('RSET now\r\n')).toEqual(['501 5.5.4']);
  });

  it('answers QUIT with 221 and closes, ignoring anything after it', () => {
    const c = new Client().ready();
    const out = c.send('QUIT\r\nNOOP\r\n');
    expect(types(out)).toEqual(['reply', 'close']);
    expect(codes(out)).toEqual(['221 2.0.0']);
    expect(c.session.closed).toBe(true);
    expect(c.send('NOOP\r\n')).toEqual([]);
  });

  it('answers a known but unimplemented command with 502', () => {
    const c = new Client().ready();
    expect(c.codes('EXPN staff\r\nTURN\r\n')).toEqual(['502 5.5.1', '502 5.5.1']);
    expect(c.observer.of('refused').map((e) => e.command)).toEqual(['EXPN', 'TURN']);
  });

  it('answers an unknown command with 500 5.5.2 and names it', () => {
    const c = new Client().ready();
    const r = c.reply('FROB x\r\n');
    expect(code(r)).toBe('500 5.5.2');
    expect(formatReply(r)).toMatch(/"FROB"/);
  });

  it('answers an empty line with 500 5.5.2', () => {
    const c = new Client().ready();
    expect(c.codes('\r\n')).toEqual(['500 5.5.2']);
  });
});

describe('commands out of sequence', () => {
  it.each([
    ['MAIL before EHLO', '', 'MAIL FROM:<a@b.c>'],
    ['RCPT before EHLO', '', 'RCPT TO:<a@b.c>'],
    ['DATA before EHLO', '', 'DATA'],
    ['AUTH before EHLO', '', 'AUTH PLAIN'],
    ['RCPT before MAIL', 'EHLO a', 'RCPT TO:<a@b.c>'],
    ['DATA before MAIL', 'EHLO a', 'DATA'],
    ['DATA before RCPT', 'EHLO a\r\nMAIL FROM:<a@b.c>', 'DATA'],
    ['a second MAIL', 'EHLO a\r\nMAIL FROM:<a@b.c>', 'MAIL FROM:<a@b.c>'],
    ['AUTH during a transaction', 'EHLO a\r\nMAIL FROM:<a@b.c>', 'AUTH PLAIN'],
    ['AUTH after HELO', 'HELO a', 'AUTH PLAIN'],
  ])('refuses %s with 503 5.5.1', (_name, before, command) => {
    const c = new Client({ auth });
    c.open();
    if (before !== '') c.send(`${before}\r\n`);
    c.take();
    expect(c.codes(`${command}\r\n`)).toEqual(['503 5.5.1']);
  });
});

describe('invalid commands', () => {
  it('keeps the session open after one fewer invalid commands than the limit', () => {
    const c = new Client({ maxInvalidCommands: 3 }).ready();
    const out = c.send('FROB\r\nFROB\r\nNOOP\r\n');
    expect(codes(out)).toEqual(['500 5.5.2', '500 5.5.2', '250 2.0.0']);
    expect(c.session.closed).toBe(false);
  });

  it('ends the session with 421 4.7.0 right after the invalid command that reaches the limit', () => {
    const c = new Client({ maxInvalidCommands: 3 }).ready();
    const out = c.send('FROB\r\nMAIL TO:<a@b.c>\r\nDATA\r\nNOOP\r\n');
    expect(codes(out)).toEqual(['500 5.5.2', '501 5.5.4', '503 5.5.1', '421 4.7.0']);
    expect(types(out).at(-1)).toBe('close');
    expect(formatReply(replies(out)[3] as never)).toMatch(/maxInvalidCommands/);
    expect(c.session.closed).toBe(true);
    expect(c.send('NOOP\r\n')).toEqual([]);
  });

  it.each([
    ['NUL', Buffer.from('NOOP\x00\r\n', 'latin1')],
    ['a control byte', Buffer.from('NO\x01OP\r\n', 'latin1')],
    ['DEL', Buffer.from('NOOP\x7f\r\n', 'latin1')],
    ['a bare CR inside', Buffer.from('NOOP\rQUIT\r\n', 'latin1')],
  ])('refuses a command with %s with 500 5.5.2', (_name, bytes) => {
    const c = new Client().ready();
    expect(c.codes(bytes)).toEqual(['500 5.5.2']);
  });

  it('refuses a NUL byte inside an address with 500 5.5.2', () => {
    const c = new Client().ready();
    expect(c.codes(Buffer.from('MAIL FROM:<a\x00b@c.d>\r\n', 'latin1'))).toEqual(['500 5.5.2']);
  });

  it('refuses a command that is not valid UTF-8 with 500 5.5.2', () => {
    const c = new Client().ready();
    const bytes = Buffer.concat([
      Buffer.from('MAIL FROM:<'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('@b.c> SMTPUTF8\r\n'),
    ]);
    const r = c.reply(bytes);
    expect(code(r)).toBe('500 5.5.2');
    expect(formatReply(r)).toMatch(/UTF-8/);
  });

  it('counts each invalid command once toward the limit', () => {
    const c = new Client({ maxInvalidCommands: 2 }).ready();
    expect(c.codes(Buffer.from('A\x00\r\n', 'latin1'))).toEqual(['500 5.5.2']);
    expect(c.codes('B\r\n')).toEqual(['500 5.5.2', '421 4.7.0']);
  });
});

describe('HTTP requests', () => {
  it.each(['GET / HTTP/1.1', 'POST /api HTTP/1.1', 'CONNECT a:25 HTTP/1.1'])(
    'closes the connection with 421 on "%s" and reads nothing more',
    (line) => {
      const c = new Client();
      c.open();
      const out = c.send(`${line}\r\nHost: sink\r\n\r\n`);
      expect(codes(out)).toEqual(['421 4.7.0']);
      expect(types(out)).toEqual(['reply', 'close']);
    },
  );
});

describe('lenient mode', () => {
  it('accepts MAIL before EHLO, RCPT before MAIL, and a second MAIL', () => {
    const c = new Client({ lenient: true });
    c.open();
    expect(c.codes('RCPT TO:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<d@e.f>\r\n')).toEqual([
      '250 2.1.5',
      '250 2.1.0',
      '250 2.1.0',
      '250 2.1.5',
    ]);
  });

  it('delivers a message sent without EHLO, MAIL or RCPT', () => {
    const c = new Client({ lenient: true });
    c.open();
    expect(c.codes('MAIL FROM:<a@b.c>\r\nDATA\r\nhi\r\n.\r\n')).toEqual(['250 2.1.0', '354', '250 2.0.0']);
  });

  it('stays strict without the option', () => {
    const c = new Client();
    c.open();
    expect(c.codes('MAIL FROM:<a@b.c>\r\n')).toEqual(['503 5.5.1']);
  });
});

describe('command line length', () => {
  const limit = 512;
  const line = (octets: number): string => `NOOP ${'x'.repeat(octets - 7)}\r\n`;

  it('accepts a command of exactly maxCommandLineLength octets including CRLF', () => {
    const c = new Client({ maxCommandLineLength: limit }).ready();
    expect(line(limit)).toHaveLength(limit);
    expect(c.codes(line(limit))).toEqual(['250 2.0.0']);
  });

  it('refuses a command one octet longer with 500 5.5.2 naming the option, and goes on', () => {
    const c = new Client({ maxCommandLineLength: limit }).ready();
    const out = c.send(`${line(limit + 1)}NOOP\r\n`);
    expect(codes(out)).toEqual(['500 5.5.2', '250 2.0.0']);
    expect(formatReply(replies(out)[0] as never)).toMatch(/maxCommandLineLength/);
  });

  it('answers an endless line once, however many megabytes arrive before its end', () => {
    const c = new Client({ maxCommandLineLength: limit }).ready();
    const megabyte = Buffer.alloc(1024 * 1024, 0x41);
    for (let i = 0; i < 16; i++) expect(c.send(megabyte)).toEqual([]);
    expect(c.codes('\r\nNOOP\r\n')).toEqual(['500 5.5.2', '250 2.0.0']);
  });

  it('accepts commands that end with a bare LF', () => {
    const c = new Client();
    c.open();
    expect(c.codes('EHLO a\nMAIL FROM:<a@b.c>\nRCPT TO:<d@e.f>\n')).toEqual(['250', '250 2.1.0', '250 2.1.5']);
  });

  it('gives the same replies for every split of a command stream', () => {
    const input = 'EHLO a\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nNOOP\r\n';
    const whole = new Client();
    whole.open();
    const expected = transcript(whole.send(input));
    for (let cut = 0; cut <= input.length; cut++) {
      const c = new Client();
      c.open();
      expect({ cut, wire: transcript(c.sendSplit([input.slice(0, cut), input.slice(cut)])) }).toEqual({
        cut,
        wire: expected,
      });
    }
  });
});

describe('PIPELINING', () => {
  it('answers a whole pipelined transaction in order, in one output batch', () => {
    const c = new Client();
    c.open();
    const recipients = Array.from({ length: 50 }, (_, i) => `RCPT TO:<r${i}@example.org>\r\n`).join('');
    const out = c.send(`EHLO a\r\nMAIL FROM:<a@b.c>\r\n${recipients}DATA\r\nhello\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n`);
    expect(codes(out)).toEqual([
      '250',
      '250 2.1.0',
      ...Array.from({ length: 50 }, () => '250 2.1.5'),
      '354',
      '250 2.0.0',
      '250 2.0.0',
      '250 2.0.0',
      '221 2.0.0',
    ]);
    expect(types(out).at(-1)).toBe('close');
  });
});
