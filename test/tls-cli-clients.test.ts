import { describe, expect, it } from 'vitest';
import type { ChildResult } from './support/child.js';
import { caFileForTest, curlSend, opensslStartTls, pythonSend, sinkForTest, swaksSend } from './support/tls-clients.js';

// Clients outside Node, each verifying the sink against the CA file written by sink.writeCa().

function output(result: ChildResult): string {
  return `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

describe('curl with --cacert', () => {
  it('delivers over STARTTLS with --ssl-reqd on smtp://', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });
    const ca = await caFileForTest(sink);

    const result = await curlSend(`smtp://127.0.0.1:${sink.port}/client.test`, ['--ssl-reqd', '--cacert', ca]);

    expect(result.code, output(result)).toBe(0);
    const [record] = await sink.waitFor(1);
    expect(record?.tls?.mode).toBe('starttls');
  });

  it('delivers over implicit TLS on smtps://', async () => {
    const sink = await sinkForTest({ tls: 'implicit' });
    const ca = await caFileForTest(sink);

    const result = await curlSend(`smtps://127.0.0.1:${sink.tlsPort}/client.test`, ['--cacert', ca]);

    expect(result.code, output(result)).toBe(0);
    const [record] = await sink.waitFor(1);
    expect(record?.tls?.mode).toBe('implicit');
  });
});

describe('swaks with --tls-verify --tls-ca-path', () => {
  it('delivers over STARTTLS with --tls', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });
    const ca = await caFileForTest(sink);

    const result = await swaksSend(sink.port, ['--tls', '--tls-verify', '--tls-ca-path', ca]);

    expect(result.code, output(result)).toBe(0);
    const [record] = await sink.waitFor(1);
    expect(record?.tls?.mode).toBe('starttls');
  });

  it('delivers over implicit TLS with --tlsc', async () => {
    const sink = await sinkForTest({ tls: 'implicit' });
    const ca = await caFileForTest(sink);

    const result = await swaksSend(sink.tlsPort as number, ['--tlsc', '--tls-verify', '--tls-ca-path', ca]);

    expect(result.code, output(result)).toBe(0);
    const [record] = await sink.waitFor(1);
    expect(record?.tls?.mode).toBe('implicit');
  });
});

describe('Python smtplib with ssl.create_default_context(cafile=…)', () => {
  it('delivers after starttls(context=…)', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });
    const ca = await caFileForTest(sink);

    const result = await pythonSend('starttls', 'localhost', sink.port, ca);

    expect(result.code, output(result)).toBe(0);
    const [record] = await sink.waitFor(1);
    expect(record?.tls?.mode).toBe('starttls');
  });

  it('delivers with SMTP_SSL on sink.tlsPort', async () => {
    const sink = await sinkForTest({ tls: 'implicit' });
    const ca = await caFileForTest(sink);

    const result = await pythonSend('implicit', 'localhost', sink.tlsPort as number, ca);

    expect(result.code, output(result)).toBe(0);
    const [record] = await sink.waitFor(1);
    expect(record?.tls?.mode).toBe('implicit');
  });
});

describe('openssl s_client -starttls smtp -verify_return_error', () => {
  it('verifies the chain and the host name, then talks SMTP inside TLS', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });
    const ca = await caFileForTest(sink);

    const result = await opensslStartTls(sink.port, ca, ['-verify_hostname', 'localhost']);

    expect(result.code, output(result)).toBe(0);
    expect(result.stdout).toContain('Verify return code: 0 (ok)');
    // The EHLO and QUIT typed on stdin went through the encrypted channel and were answered there.
    expect(result.stdout).toMatch(/^250[ -]/m);
    expect(result.stdout).toMatch(/^221 /m);
  });
});
