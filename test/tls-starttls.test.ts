import { describe, expect, it, onTestFinished } from 'vitest';
import { nextEvent, nodemailerFailure, sendWithNodemailer, sinkForTest } from './support/tls-clients.js';
import { TlsWire } from './support/tls-wire.js';

// STARTTLS as RFC 3207 has it, seen from a raw socket where a real client would hide the details.

async function openWire(port: number): Promise<TlsWire> {
  const wire = await TlsWire.open(port);
  onTestFinished(() => wire.destroy());
  expect((await wire.reply()).code).toBe(220);
  return wire;
}

/** A session that has said EHLO, issued STARTTLS and finished a verified handshake. */
async function upgradedWire(port: number, ca: string | undefined): Promise<TlsWire> {
  const wire = await openWire(port);
  expect((await wire.command('EHLO client.test')).code).toBe(250);
  expect((await wire.command('STARTTLS')).last).toMatch(/^220 2\.0\.0 /);
  await wire.upgrade({ ca });
  return wire;
}

describe('STARTTLS command injection (CVE-2011-0411)', () => {
  it('discards a MAIL FROM pipelined after STARTTLS in the same packet', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });
    const wire = await openWire(sink.port);
    expect((await wire.command('EHLO client.test')).code).toBe(250);

    // One write, so both commands reach the server in one segment, before any handshake byte.
    wire.write('STARTTLS\r\nMAIL FROM:<evil@attacker.test>\r\n');
    expect((await wire.reply()).last).toMatch(/^220 2\.0\.0 /);
    await wire.upgrade({ ca: sink.ca });
    expect((await wire.command('EHLO client.test')).code).toBe(250);

    // Had the injected MAIL run, it would now be the open transaction and RCPT would get 250.
    const rcpt = await wire.command('RCPT TO:<victim@sink.test>');
    expect(rcpt.last).toBe('503 5.5.1 Bad sequence of commands: send MAIL FROM first');
    expect(sink.stats().transactions).toBe(0);
  });
});

describe('the session after STARTTLS', () => {
  it('starts over: MAIL before a new EHLO gets 503', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });
    const wire = await upgradedWire(sink.port, sink.ca);

    const mail = await wire.command('MAIL FROM:<sender@client.test>');

    expect(mail.last).toBe('503 5.5.1 Bad sequence of commands: send EHLO or HELO first');
  });

  it('no longer advertises STARTTLS in the EHLO reply', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });
    const wire = await openWire(sink.port);
    const before = await wire.command('EHLO client.test');
    expect((await wire.command('STARTTLS')).code).toBe(220);
    await wire.upgrade({ ca: sink.ca });

    const after = await wire.command('EHLO client.test');

    expect(before.lines).toContain('250-STARTTLS');
    expect(after.code).toBe(250);
    expect(after.lines.some((line) => line.slice(4) === 'STARTTLS')).toBe(false);
  });

  it('answers a second STARTTLS with 503', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });
    const wire = await upgradedWire(sink.port, sink.ca);
    await wire.command('EHLO client.test');

    const again = await wire.command('STARTTLS');

    expect(again.last).toBe('503 5.5.1 Bad sequence of commands: TLS is already active');
  });

  it('ends an idle session with 421 inside TLS', async () => {
    const sink = await sinkForTest({ tls: 'starttls', idleTimeout: 300 });
    const wire = await upgradedWire(sink.port, sink.ca);

    const goodbye = await wire.reply(10_000);

    expect(goodbye.last).toMatch(/^421 4\.4\.2 /);
    await wire.waitClosed();
  });
});

describe('requireTls', () => {
  it('refuses MAIL before STARTTLS with 530 5.7.0, as nodemailer reports it', async () => {
    const sink = await sinkForTest({ tls: 'starttls', requireTls: true });

    const error = await nodemailerFailure({ host: 'localhost', port: sink.port, ignoreTLS: true });

    expect(error.responseCode).toBe(530);
    expect(error.response).toBe('530 5.7.0 Must issue a STARTTLS command first');
    expect(sink.stats().transactions).toBe(0);
  });

  it('allows only the commands of RFC 3207 before STARTTLS', async () => {
    const sink = await sinkForTest({ tls: 'starttls', requireTls: true });
    const wire = await openWire(sink.port);

    const answers = [];
    for (const command of [
      'EHLO client.test',
      'NOOP',
      'RSET',
      'MAIL FROM:<a@client.test>',
      'RCPT TO:<b@sink.test>',
      'DATA',
    ]) {
      answers.push(`${command.split(' ')[0]} ${(await wire.command(command)).code}`);
    }

    expect(answers).toEqual(['EHLO 250', 'NOOP 250', 'RSET 250', 'MAIL 530', 'RCPT 530', 'DATA 530']);
  });

  it('delivers once the client has issued STARTTLS', async () => {
    const sink = await sinkForTest({ tls: 'starttls', requireTls: true });

    await sendWithNodemailer({ host: 'localhost', port: sink.port, requireTLS: true, tls: sink.clientTls() });

    const [record] = await sink.waitFor(1);
    expect(record?.tls?.mode).toBe('starttls');
  });
});

describe('a failed handshake', () => {
  it('closes a connection that sends garbage after 220 Ready to start TLS', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });
    const wire = await openWire(sink.port);
    expect((await wire.command('STARTTLS')).code).toBe(220);
    const disconnected = nextEvent(sink, 'disconnect');

    wire.write('this is not a TLS ClientHello\r\n'.repeat(4));

    await wire.waitClosed();
    await disconnected;
    expect(sink.stats().activeConnections).toBe(0);
  });

  it('leaves the server serving: a verifying client delivers after the garbage one', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });
    const wire = await openWire(sink.port);
    expect((await wire.command('STARTTLS')).code).toBe(220);
    wire.write(Buffer.alloc(64, 0xff));
    await wire.waitClosed();

    await sendWithNodemailer({ host: 'localhost', port: sink.port, requireTLS: true, tls: sink.clientTls() });

    await sink.waitFor(1);
    expect(sink.stats()).toMatchObject({ accepted: 1, connections: 2 });
  });

  it('closes a connection that sends garbage to the implicit-TLS port, and serves the next', async () => {
    const sink = await sinkForTest({ tls: 'implicit' });
    const wire = await TlsWire.open(sink.tlsPort as number);
    onTestFinished(() => wire.destroy());

    wire.write('EHLO client.test\r\n');
    await wire.waitClosed();
    await sendWithNodemailer({ host: 'localhost', port: sink.tlsPort, secure: true, tls: sink.clientTls() });

    await sink.waitFor(1);
    expect(sink.stats()).toMatchObject({ accepted: 1, connections: 2 });
  });
});

describe('a handshake that never starts', () => {
  it('is dropped after idleTimeout on the STARTTLS port', async () => {
    const sink = await sinkForTest({ tls: 'starttls', idleTimeout: 300 });
    const wire = await openWire(sink.port);
    expect((await wire.command('STARTTLS')).code).toBe(220);
    const disconnected = nextEvent(sink, 'disconnect');

    await wire.waitClosed(10_000);

    await disconnected;
    expect(sink.stats().activeConnections).toBe(0);
  });

  it('is dropped after idleTimeout on the implicit-TLS port', async () => {
    const sink = await sinkForTest({ tls: 'implicit', idleTimeout: 300 });
    const disconnected = nextEvent(sink, 'disconnect');
    const wire = await TlsWire.open(sink.tlsPort as number);
    onTestFinished(() => wire.destroy());

    await wire.waitClosed(10_000);

    await disconnected;
    expect(sink.stats().activeConnections).toBe(0);
  });
});

describe('close() with handshakes in progress', () => {
  it('ends a STARTTLS connection whose client never starts the handshake', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });
    const wire = await openWire(sink.port);
    expect((await wire.command('STARTTLS')).code).toBe(220);
    const disconnected = nextEvent(sink, 'disconnect');

    await sink.close();

    // Well inside the default idleTimeout (120 s): close() itself ended it.
    await wire.waitClosed(5000);
    await disconnected;
    expect(sink.stats().activeConnections).toBe(0);
  });

  it('ends an implicit-TLS connection whose client never starts the handshake', async () => {
    const sink = await sinkForTest({ tls: 'implicit' });
    const accepted = nextEvent(sink, 'connection');
    const wire = await TlsWire.open(sink.tlsPort as number);
    onTestFinished(() => wire.destroy());
    await accepted;

    await sink.close();

    await wire.waitClosed(5000);
    expect(wire.ended).toBe(true);
  });

  it('ends a connection stalled in the handshake fault', async () => {
    const sink = await sinkForTest({ tls: 'starttls', tlsFault: 'handshake' });
    const wire = await openWire(sink.port);
    expect((await wire.command('STARTTLS')).code).toBe(220);

    await sink.close();

    await wire.waitClosed(5000);
    expect(wire.ended).toBe(true);
  });
});
