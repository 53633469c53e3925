import { type TlsFault, testCertificate } from '@mailhole/core';
import { describe, expect, it } from 'vitest';
import type { ChildResult } from './support/child.js';
import {
  caFileForTest,
  curlSend,
  folderForTest,
  nodemailerFailure,
  opensslStartTls,
  sendWithNodemailer,
  sinkForTest,
  swaksSend,
} from './support/tls-clients.js';

// The other half of "verification on": a client must refuse a server it cannot verify. These tests
// prove that the sink's TLS is real TLS (an untrusting client is refused) and that each TLS fault a
// test can ask for makes a verifying client fail with the error that names that fault.

function output(result: ChildResult): string {
  return `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

describe('a client that does not trust the sink CA', () => {
  it('nodemailer without the CA refuses the STARTTLS server and sends nothing', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });

    const error = await nodemailerFailure({ host: 'localhost', port: sink.port, requireTLS: true });

    expect(error.originalCode).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(sink.stats().transactions).toBe(0);
  });

  it('nodemailer without the CA refuses the implicit-TLS server', async () => {
    const sink = await sinkForTest({ tls: 'implicit' });

    const error = await nodemailerFailure({ host: 'localhost', port: sink.tlsPort, secure: true });

    expect(error.originalCode).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('nodemailer trusting another CA refuses the server', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });
    // A CA of its own: the process's test CA is shared per cache folder, and this folder is new.
    const other = await testCertificate({ cacheDir: await folderForTest() });
    expect(other.ca).not.toBe(sink.ca);

    const error = await nodemailerFailure({
      host: 'localhost',
      port: sink.port,
      requireTLS: true,
      tls: { ca: other.ca, servername: 'localhost' },
    });

    expect(error.originalCode).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('curl without --cacert fails with "SSL certificate problem" (exit 60)', async () => {
    const sink = await sinkForTest({ tls: 'starttls' });

    const result = await curlSend(`smtp://127.0.0.1:${sink.port}/client.test`, ['--ssl-reqd']);

    expect(result.code, output(result)).toBe(60);
    expect(result.stderr).toContain('SSL certificate problem');
    expect(sink.stats().transactions).toBe(0);
  });
});

/** What a verifying node:tls client (nodemailer) reports for each fault. */
const nodeErrors: Record<TlsFault, RegExp> = {
  expired: /^CERT_HAS_EXPIRED$/,
  'wrong-host': /^ERR_TLS_CERT_ALTNAME_INVALID$/,
  untrusted: /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)$/,
  handshake: /^ERR_SSL_/,
};

/** curl's exit code and message for each fault: 60 is "peer certificate cannot be authenticated", 35 "SSL connect error". */
const curlErrors: Record<TlsFault, { code: number; message: RegExp }> = {
  expired: { code: 60, message: /certificate has expired/ },
  'wrong-host': {
    code: 60,
    message: /no alternative certificate subject name matches target host name '127\.0\.0\.1'/,
  },
  untrusted: { code: 60, message: /unable to get local issuer certificate|unable to verify the first certificate/ },
  handshake: { code: 35, message: /handshake failure/ },
};

const faults = Object.keys(nodeErrors) as TlsFault[];

describe.each(faults)("tlsFault: '%s'", (fault) => {
  it('nodemailer over STARTTLS fails with the matching error and sends nothing', async () => {
    const sink = await sinkForTest({ tls: 'starttls', tlsFault: fault });

    const error = await nodemailerFailure({
      host: 'localhost',
      port: sink.port,
      requireTLS: true,
      tls: sink.clientTls(),
    });

    expect(error.originalCode).toMatch(nodeErrors[fault]);
    expect(sink.stats().transactions).toBe(0);
  });

  it('nodemailer over implicit TLS fails with the matching error', async () => {
    const sink = await sinkForTest({ tls: 'implicit', tlsFault: fault });

    const error = await nodemailerFailure({
      host: 'localhost',
      port: sink.tlsPort,
      secure: true,
      tls: sink.clientTls(),
    });

    expect(error.originalCode).toMatch(nodeErrors[fault]);
  });

  it('curl --ssl-reqd --cacert fails with the matching error', async () => {
    const sink = await sinkForTest({ tls: 'starttls', tlsFault: fault });
    const ca = await caFileForTest(sink);

    const result = await curlSend(`smtp://127.0.0.1:${sink.port}/client.test`, ['--ssl-reqd', '--cacert', ca]);

    expect(result.code, output(result)).toBe(curlErrors[fault].code);
    expect(result.stderr).toMatch(curlErrors[fault].message);
  });

  it('keeps serving: a plaintext client delivers after the refused one', async () => {
    const sink = await sinkForTest({ tls: 'starttls', tlsFault: fault });
    await nodemailerFailure({ host: 'localhost', port: sink.port, requireTLS: true, tls: sink.clientTls() });

    await sendWithNodemailer({ host: 'localhost', port: sink.port, ignoreTLS: true });

    await sink.waitFor(1);
    expect(sink.accepted).toBe(1);
  });
});

describe('openssl s_client -verify_return_error against a faulty certificate', () => {
  it("stops at the expired certificate with 'certificate has expired'", async () => {
    const sink = await sinkForTest({ tls: 'starttls', tlsFault: 'expired' });
    const ca = await caFileForTest(sink);

    const result = await opensslStartTls(sink.port, ca);

    expect(result.code, output(result)).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain('certificate has expired');
    expect(result.stdout).not.toMatch(/^221 /m);
  });
});

describe('swaks --tls-verify against a certificate its CA did not sign', () => {
  it('does not deliver', async () => {
    const sink = await sinkForTest({ tls: 'starttls', tlsFault: 'untrusted' });
    const ca = await caFileForTest(sink);

    const result = await swaksSend(sink.port, ['--tls', '--tls-verify', '--tls-ca-path', ca]);

    expect(result.code, output(result)).not.toBe(0);
    expect(sink.stats().transactions).toBe(0);
  });
});
