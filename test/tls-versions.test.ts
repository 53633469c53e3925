import { type ConnectionOptions, connect } from 'node:tls';
import { describe, expect, it, onTestFinished } from 'vitest';
import { nodemailerFailure, sendWithNodemailer, sinkForTest } from './support/tls-clients.js';
import { TlsWire } from './support/tls-wire.js';

// minTlsVersion: the server, not the client, draws the line. Each refusal below is the server's
// `protocol_version` alert, which the client reports as ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION.

/** A client that would settle for TLS 1.0 or 1.1; SECLEVEL=0 lets OpenSSL 3 offer them at all. */
const legacyClient: ConnectionOptions = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' };

/** The handshake error code, or a failure if the handshake succeeded. */
function handshakeError(port: number, options: ConnectionOptions): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
    onTestFinished(() => {
      socket.destroy();
    });
    socket.once('secureConnect', () => reject(new Error(`handshake succeeded with ${socket.getProtocol()}`)));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
  });
}

describe('minTlsVersion default (TLSv1.2)', () => {
  it('refuses a client limited to TLS 1.1 on the implicit-TLS port', async () => {
    const sink = await sinkForTest({ tls: 'implicit' });

    const code = await handshakeError(sink.tlsPort as number, { ...legacyClient, ca: sink.ca });

    expect(code).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
  });

  it('refuses a client limited to TLS 1.1 after STARTTLS', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });
    const wire = await TlsWire.open(sink.port);
    onTestFinished(() => wire.destroy());
    await wire.reply();
    expect((await wire.command('STARTTLS')).code).toBe(220);

    const upgrade = wire.upgrade({ ...legacyClient, ca: sink.ca });

    await expect(upgrade).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
  });
});

describe("minTlsVersion: 'TLSv1.3'", () => {
  it('refuses a nodemailer client limited to TLS 1.2', async () => {
    const sink = await sinkForTest({ tls: 'starttls', minTlsVersion: 'TLSv1.3' });

    const error = await nodemailerFailure({
      host: 'localhost',
      port: sink.port,
      requireTLS: true,
      tls: sink.clientTls({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }),
    });

    expect(error.originalCode).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    expect(sink.stats().transactions).toBe(0);
  });

  it('delivers over TLS 1.3 with the settings clientTls() gives', async () => {
    const sink = await sinkForTest({ tls: 'implicit', minTlsVersion: 'TLSv1.3' });
    expect(sink.clientTls().minVersion).toBe('TLSv1.3');

    await sendWithNodemailer({ host: 'localhost', port: sink.tlsPort, secure: true, tls: sink.clientTls() });

    const [record] = await sink.waitFor(1);
    expect(record?.tls?.protocol).toBe('TLSv1.3');
  });
});
