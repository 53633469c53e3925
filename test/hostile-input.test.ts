import { describe, expect, it } from 'vitest';
import { smugglingMarkers } from '../packages/core/test/smuggling.js';
import {
  converse,
  finalCodes,
  hostileSink,
  malformedLines,
  randomBytesFrom,
  rawSocket,
  readUntilClosed,
  seeded,
  sendOne,
} from './support/hostile-wire.js';
import { WireClient } from './support/smtp-wire.js';
import { TlsWire } from './support/tls-wire.js';

// What a client can send over a plain socket that a well-behaved one never would: random bytes,
// control and 8-bit bytes in commands, lines of any length, bare CR and LF around the end of data.
// The sink must refuse it with well-formed replies, never report an internal error (hostileSink
// checks), and keep serving the next client.

const transaction = 'EHLO client.test\r\nMAIL FROM:<sender@client.test>\r\nRCPT TO:<rcpt@sink.test>\r\n';

describe('random bytes', () => {
  it('answers random bytes with well-formed replies only, and keeps serving', async () => {
    const { sink } = await hostileSink();
    const next = seeded(0x5eed);
    const sessions = await Promise.all(
      Array.from({ length: 24 }, () => converse(sink.port, randomBytesFrom(next, 32 * 1024))),
    );
    for (const lines of sessions) {
      expect(malformedLines(lines)).toEqual([]);
      expect(lines[0]).toMatch(/^220 /);
      // Random lines are invalid commands: the session ends on the invalid-command limit (or QUIT).
      expect(finalCodes(lines).at(-1)).toMatch(/^(421 4\.7\.0|221 2\.0\.0)$/);
    }
    expect(sink.accepted).toBe(0);
    expect(await sendOne(sink)).toMatch(/^250 /);
  });

  it('accepts random octets as a message body and counts each message once', async () => {
    const { sink } = await hostileSink({ maxDataLineLength: 0 });
    const next = seeded(42);
    const sessions = await Promise.all(
      Array.from({ length: 12 }, (_, i) => {
        const body = randomBytesFrom(next, 16 * 1024 + i);
        // Random octets may hold CRLF.CRLF by chance: stuff every line-leading dot, as a client must.
        const stuffed = Buffer.from(body.toString('latin1').replace(/\r\n\./g, '\r\n..'), 'latin1');
        return i % 2 === 0
          ? converse(sink.port, [transaction, 'DATA\r\n', stuffed, '\r\n.\r\n'])
          : converse(sink.port, [transaction, `BDAT ${body.length} LAST\r\n`, body]);
      }),
    );
    for (const lines of sessions) {
      expect(malformedLines(lines)).toEqual([]);
      expect(finalCodes(lines).filter((c) => c === '250 2.0.0')).toHaveLength(1);
    }
    expect(sink.accepted).toBe(12);
  });
});

describe('control and 8-bit bytes in commands', () => {
  it('refuses a NUL in a command with 500 5.5.2 and goes on', async () => {
    const { sink } = await hostileSink();
    const lines = await converse(
      sink.port,
      'EHLO cli\0ent.test\r\nEHLO client.test\r\nMAIL FROM:<a\0b@x.test>\r\nNOOP\r\n',
    );
    expect(finalCodes(lines)).toEqual(['220', '500 5.5.2', '250', '500 5.5.2', '250 2.0.0', '221 2.0.0']);
  });

  it('refuses other control bytes (ESC, DEL, bare CR inside a line) with 500 5.5.2', async () => {
    const { sink } = await hostileSink();
    const lines = await converse(sink.port, 'EHLO a\x1bb\r\nNOOP\x7f\r\nNO\rOP\r\nNOOP\r\n');
    expect(finalCodes(lines)).toEqual(['220', '500 5.5.2', '500 5.5.2', '500 5.5.2', '250 2.0.0', '221 2.0.0']);
  });

  it('refuses 8-bit bytes that are not UTF-8 with 500 5.5.2', async () => {
    const { sink } = await hostileSink();
    const lines = await converse(sink.port, [
      Buffer.from('EHLO client.test\r\nMAIL FROM:<'),
      Buffer.from([0xff, 0xfe, 0x80]),
      '@x.test>\r\nNOOP\r\n',
    ]);
    expect(finalCodes(lines)).toEqual(['220', '250', '500 5.5.2', '250 2.0.0', '221 2.0.0']);
  });

  it('refuses a UTF-8 address without SMTPUTF8 with 553 5.6.7 and accepts it with SMTPUTF8', async () => {
    const { sink } = await hostileSink();
    const lines = await converse(sink.port, [
      'EHLO client.test\r\n',
      Buffer.from('MAIL FROM:<jürgen@client.test>\r\n', 'utf8'),
      Buffer.from('MAIL FROM:<jürgen@client.test> SMTPUTF8\r\nRCPT TO:<zoë@sink.test>\r\nDATA\r\nx\r\n.\r\n', 'utf8'),
    ]);
    expect(finalCodes(lines)).toEqual([
      '220',
      '250',
      '553 5.6.7',
      '250 2.1.0',
      '250 2.1.5',
      '354',
      '250 2.0.0',
      '221 2.0.0',
    ]);
    expect(sink.deliveries()[0]).toMatchObject({ sender: 'jürgen@client.test', recipients: ['zoë@sink.test'] });
  });
});

describe('overlong lines', () => {
  it('refuses an overlong command line with 500 5.5.2 and reads the next command', async () => {
    const { sink } = await hostileSink();
    const lines = await converse(sink.port, `EHLO client.test\r\nNOOP ${'x'.repeat(100_000)}\r\nNOOP\r\n`);
    expect(finalCodes(lines)).toEqual(['220', '250', '500 5.5.2', '250 2.0.0', '221 2.0.0']);
    expect(lines).toContain('500 5.5.2 Command line too long: the limit is 2048 octets (option maxCommandLineLength)');
  });

  it('throws away megabytes of a line without CRLF, answers once when it ends, and goes on', async () => {
    const { sink } = await hostileSink();
    const socket = await rawSocket(sink.port);
    const text = readUntilClosed(socket);
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    socket.write('EHLO client.test\r\n');
    for (let i = 0; i < 16; i++) socket.write(chunk);
    socket.write('\r\nNOOP\r\nQUIT\r\n');
    const codes = finalCodes((await text).split('\r\n'));
    expect(codes).toEqual(['220', '250', '500 5.5.2', '250 2.0.0', '221 2.0.0']);
    expect(sink.stats().receivedBytes).toBeGreaterThan(16 * 1024 * 1024);
  });

  it('refuses a message with a line past maxDataLineLength with 554 5.6.0 and counts nothing', async () => {
    const { sink } = await hostileSink();
    const lines = await converse(sink.port, `${transaction}DATA\r\nshort\r\n${'y'.repeat(50_000)}\r\n.\r\nNOOP\r\n`);
    expect(finalCodes(lines)).toEqual([
      '220',
      '250',
      '250 2.1.0',
      '250 2.1.5',
      '354',
      '554 5.6.0',
      '250 2.0.0',
      '221 2.0.0',
    ]);
    expect(sink.accepted).toBe(0);
  });

  it('refuses an overlong AUTH response with 500 5.5.6', async () => {
    const { sink } = await hostileSink({ auth: true });
    const lines = await converse(sink.port, `EHLO client.test\r\nAUTH PLAIN\r\n${'A'.repeat(20_000)}\r\nNOOP\r\n`);
    expect(finalCodes(lines)).toEqual(['220', '250', '334', '500 5.5.6', '250 2.0.0', '221 2.0.0']);
  });
});

describe('SMTP smuggling (bare CR and bare LF around the end-of-data dot)', () => {
  // The bare CR and bare LF end markers, and a few near misses.
  const variants = [
    ...smugglingMarkers,
    '\r\n.\r\r\n',
    '\r\n.\n\r\n',
    '\r\r\n.\r\r\n',
    '\n\r\n.\n',
    '\r\n. \r\n',
    '\r\n.\x00\r\n',
  ];
  const smuggled = 'MAIL FROM:<smuggled@evil.test>\r\nRCPT TO:<victim@sink.test>\r\nDATA\r\nForged\r\n';

  it.each(variants.map((v) => [JSON.stringify(v), v]))(
    'does not end the message at %s nor run what follows',
    async (_, variant) => {
      const { sink } = await hostileSink({ capture: 'full' });
      const lines = await converse(
        sink.port,
        `${transaction}DATA\r\nSubject: real\r\n\r\nbody${variant}${smuggled}.\r\n`,
      );
      // One 354, one final 250: the smuggled MAIL, RCPT and DATA were message text.
      expect(finalCodes(lines)).toEqual(['220', '250', '250 2.1.0', '250 2.1.5', '354', '250 2.0.0', '221 2.0.0']);
      expect(sink.accepted).toBe(1);
      expect(sink.stats().transactions).toBe(1);
      expect(sink.deliveries().map((d) => d.sender)).toEqual(['sender@client.test']);
      const [message] = sink.messages();
      expect(message?.raw.toString('latin1')).toContain('MAIL FROM:<smuggled@evil.test>');
    },
  );

  it('counts exactly one message per connection when every variant is sent at once, pipelined', async () => {
    const { sink } = await hostileSink();
    const sessions = await Promise.all(
      variants.map((variant) => converse(sink.port, `${transaction}DATA\r\nbody${variant}${smuggled}\r\n.\r\n`)),
    );
    for (const lines of sessions) expect(finalCodes(lines).filter((c) => c === '250 2.0.0')).toHaveLength(1);
    expect(sink.accepted).toBe(variants.length);
    expect(sink.stats().transactions).toBe(variants.length);
    expect(sink.deliveries({ from: 'smuggled@evil.test' })).toEqual([]);
  });

  it('ends the message at CRLF.CRLF split across packets at every offset', async () => {
    const { sink } = await hostileSink();
    const end = '\r\n.\r\n';
    for (let cut = 1; cut < end.length; cut++) {
      const wire = await WireClient.open(sink.port);
      await wire.expect(220);
      wire.write(`${transaction}DATA\r\nbody`);
      await wire.expect(354);
      wire.write(end.slice(0, cut));
      await new Promise((resolve) => setTimeout(resolve, 20));
      wire.write(end.slice(cut));
      expect((await wire.reply()).last).toMatch(/^250 2\.0\.0 /);
      wire.destroy();
    }
    expect(sink.accepted).toBe(end.length - 1);
  });
});

describe('STARTTLS plaintext injection', () => {
  it('runs nothing pipelined after STARTTLS, a whole transaction included', async () => {
    const { sink } = await hostileSink({ tls: 'starttls' });
    const wire = await TlsWire.open(sink.port);
    await wire.reply();
    expect((await wire.command('EHLO client.test')).code).toBe(250);
    wire.write(`STARTTLS\r\n${transaction}DATA\r\ninjected\r\n.\r\nQUIT\r\n`);
    expect((await wire.reply()).last).toMatch(/^220 2\.0\.0 /);
    await wire.upgrade({ ca: sink.ca });
    expect((await wire.command('EHLO client.test')).code).toBe(250);
    expect((await wire.command('RCPT TO:<victim@sink.test>')).last).toMatch(/^503 5\.5\.1 /);
    expect(sink.stats().transactions).toBe(0);
    expect(sink.accepted).toBe(0);
    wire.destroy();
  });

  it('fails the handshake when plaintext follows STARTTLS in a later packet, and counts nothing', async () => {
    const { sink } = await hostileSink({ tls: 'starttls' });
    const socket = await rawSocket(sink.port);
    const text = readUntilClosed(socket);
    socket.write('EHLO client.test\r\nSTARTTLS\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    // What a MITM stripping STARTTLS would inject: plaintext where the TLS ClientHello belongs.
    socket.write(`${transaction}DATA\r\ninjected\r\n.\r\nQUIT\r\n`);
    const lines = (await text).split('\r\n');
    expect(finalCodes(lines)).toEqual(['220', '250', '220 2.0.0']);
    expect(sink.stats().transactions).toBe(0);
    expect(await sendOne(sink)).toMatch(/^250 /);
  });
});
