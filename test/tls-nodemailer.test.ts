import { describe, expect, it } from 'vitest';
import { sendWithNodemailer, sinkForTest } from './support/tls-clients.js';

// nodemailer with certificate verification on, as an application would configure it: the only
// test-specific setting is `tls: sink.clientTls()` (the sink's CA and the name to check).

describe('nodemailer over STARTTLS with verification on', () => {
  it('delivers to host localhost with requireTLS, and the record says STARTTLS', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });

    await sendWithNodemailer({ host: 'localhost', port: sink.port, requireTLS: true, tls: sink.clientTls() });

    const [record] = await sink.waitFor(1);
    expect(record?.tls).toEqual({
      protocol: expect.stringMatching(/^TLSv1\.[23]$/),
      cipher: expect.any(String),
      mode: 'starttls',
      // The name the client asked for with SNI: clientTls() names localhost.
      servername: 'localhost',
    });
  });

  it('delivers to host 127.0.0.1, verified against the IP address in the certificate', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });

    // No servername: node:tls checks the certificate against the IP it connected to.
    await sendWithNodemailer({ host: '127.0.0.1', port: sink.port, requireTLS: true, tls: { ca: sink.ca } });

    const [record] = await sink.waitFor(1);
    expect(record?.tls?.mode).toBe('starttls');
  });

  it('records TLSv1.2 when the client offers nothing newer', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });

    await sendWithNodemailer({
      host: 'localhost',
      port: sink.port,
      requireTLS: true,
      tls: sink.clientTls({ maxVersion: 'TLSv1.2' }),
    });

    const [record] = await sink.waitFor(1);
    expect(record?.tls?.protocol).toBe('TLSv1.2');
  });
});

describe('nodemailer over implicit TLS (secure: true) with verification on', () => {
  it('delivers to host localhost on sink.tlsPort, and the record says implicit', async () => {
    const sink = await sinkForTest({ tls: 'implicit' });

    await sendWithNodemailer({ host: 'localhost', port: sink.tlsPort, secure: true, tls: sink.clientTls() });

    const [record] = await sink.waitFor(1);
    expect(record?.tls).toEqual({
      protocol: expect.stringMatching(/^TLSv1\.[23]$/),
      cipher: expect.any(String),
      mode: 'implicit',
      // The name the client asked for with SNI: clientTls() names localhost.
      servername: 'localhost',
    });
  });

  it('delivers to host 127.0.0.1 on sink.tlsPort, verified against the IP address', async () => {
    const sink = await sinkForTest({ tls: 'implicit' });

    await sendWithNodemailer({ host: '127.0.0.1', port: sink.tlsPort, secure: true, tls: { ca: sink.ca } });

    const [record] = await sink.waitFor(1);
    expect(record?.tls?.mode).toBe('implicit');
  });

  it("serves STARTTLS and implicit TLS side by side with tls: 'both'", async () => {
    const sink = await sinkForTest({ tls: 'both' });

    await sendWithNodemailer({ host: 'localhost', port: sink.port, requireTLS: true, tls: sink.clientTls() });
    await sendWithNodemailer({ host: 'localhost', port: sink.tlsPort, secure: true, tls: sink.clientTls() });

    const records = await sink.waitFor(2);
    expect(records.map((record) => record.tls?.mode)).toEqual(['starttls', 'implicit']);
  });
});
