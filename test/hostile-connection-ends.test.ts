import { connect as connectTls } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { eventually, hostileSink, noConnectionsLeft, rawSocket } from './support/hostile-wire.js';
import { TlsWire } from './support/tls-wire.js';

/**
 * Every way a connection can end releases it at once: the count drops and `disconnect` fires long
 * before the idle timeout (a minute here) or the delay (a minute) could have done it.
 */
const LONG = 60_000;
/** Far below LONG: the test tells "released at once" from "released by a timer", without timing it closely. */
const SOON = 5000;

describe('every way a connection ends releases it at once', () => {
  it('a STARTTLS client that closes right after the handshake', async () => {
    const { sink } = await hostileSink({ tls: 'starttls', idleTimeout: LONG });
    const wire = await TlsWire.open(sink.port);
    await wire.reply();
    expect((await wire.command('EHLO client.test')).code).toBe(250);
    expect((await wire.command('STARTTLS')).code).toBe(220);
    const secure = await wire.upgrade({ ca: sink.ca });
    const gone = new Promise((resolve) => sink.on('disconnect', resolve));
    secure.end();
    await noConnectionsLeft(sink, SOON);
    await gone;
  });

  it('a STARTTLS client that closes after a command over TLS', async () => {
    const { sink } = await hostileSink({ tls: 'starttls', idleTimeout: LONG });
    const wire = await TlsWire.open(sink.port);
    await wire.reply();
    await wire.command('EHLO client.test');
    await wire.command('STARTTLS');
    const secure = await wire.upgrade({ ca: sink.ca });
    expect((await wire.command('EHLO client.test')).code).toBe(250);
    secure.end();
    await noConnectionsLeft(sink, SOON);
  });

  it('a STARTTLS handshake that fails', async () => {
    const { sink } = await hostileSink({ tls: 'starttls', idleTimeout: LONG });
    const wire = await TlsWire.open(sink.port);
    await wire.reply();
    await wire.command('EHLO client.test');
    await wire.command('STARTTLS');
    // No CA: the client refuses the certificate and aborts the handshake.
    await expect(wire.upgrade({})).rejects.toThrow();
    await noConnectionsLeft(sink, SOON);
  });

  it('an implicit-TLS handshake that fails', async () => {
    const { sink } = await hostileSink({ tls: 'implicit', idleTimeout: LONG });
    const failed = new Promise<void>((resolve) => {
      const socket = connectTls({ port: sink.tlsPort as number, host: '127.0.0.1', servername: 'localhost' });
      socket.on('error', () => resolve());
    });
    await failed;
    await eventually(() => sink.stats().activeConnections === 0 && sink.stats().connections === 1, 'release', SOON);
  });

  it('a reset in the middle of DATA', async () => {
    const { sink } = await hostileSink({ idleTimeout: LONG });
    const socket = await rawSocket(sink.port);
    socket.write('EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@sink.test>\r\nDATA\r\nSubject: half\r\n\r\npart');
    await eventually(() => sink.stats().receivedBytes > 60, 'the sink reading the message');
    socket.resetAndDestroy();
    await noConnectionsLeft(sink, SOON);
    expect(sink.accepted).toBe(0);
  });

  it('a client that closes in the middle of a delay, without QUIT', async () => {
    const { sink } = await hostileSink({ idleTimeout: LONG, delay: LONG });
    const socket = await rawSocket(sink.port);
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.write('EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@sink.test>\r\nDATA\r\n');
    await eventually(() => text.includes('354'), 'the 354');
    socket.write('Subject: delayed\r\n\r\nhi\r\n.\r\n');
    await eventually(() => sink.stats().receivedBytes > 90, 'the end of the message read');
    // The final reply is held back for a minute; the client gives up and closes its side.
    socket.end();
    await noConnectionsLeft(sink, SOON);
    // Its reply never went out, so the message was never accepted.
    expect(sink.accepted).toBe(0);
  });
});
