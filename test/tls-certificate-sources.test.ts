import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';
import { connect } from 'node:tls';
import { startSink, testCertificate } from '@mailhole/core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { run } from './support/child.js';
import { curlSend, folderForTest, sendWithNodemailer, sinkForTest } from './support/tls-clients.js';
import { opensslCertificate } from './support/tls-openssl.js';

// Where the sink's certificate comes from: the generated test CA (shared across processes through
// tlsCacheDir, extended with tlsHostnames) or the user's own key, certificate and CA.

/** The SHA-256 fingerprint of the certificate the server at 127.0.0.1:`port` presents. */
function servedFingerprint(port: number, ca: string, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername });
    onTestFinished(() => {
      socket.destroy();
    });
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
  });
}

describe('a certificate the user brings (certificate: { key, cert, ca })', () => {
  it('is served, verified against their CA, and their CA is sink.ca', async () => {
    const own = await opensslCertificate(await folderForTest(), ['mail.own.test', '127.0.0.1']);
    const sink = await sinkForTest({ tls: 'implicit', certificate: own });

    const fingerprint = await servedFingerprint(sink.tlsPort as number, own.ca, 'mail.own.test');

    expect(sink.ca).toBe(own.ca);
    expect(fingerprint).toBe(new X509Certificate(own.cert).fingerprint256);
  });

  it('carries mail over STARTTLS with the settings clientTls() derives from it', async () => {
    const own = await opensslCertificate(await folderForTest(), ['mail.own.test']);
    const sink = await sinkForTest({ tls: 'starttls', certificate: own });

    // The certificate does not cover localhost, so clientTls() names the host it does cover.
    await sendWithNodemailer({ host: '127.0.0.1', port: sink.port, requireTLS: true, tls: sink.clientTls() });

    expect(sink.clientTls()).toMatchObject({ ca: own.ca, servername: 'mail.own.test' });
    const [record] = await sink.waitFor(1);
    expect(record?.tls?.mode).toBe('starttls');
  });

  it('is refused at start, naming the option, when key and certificate do not belong together', async () => {
    const own = await opensslCertificate(await folderForTest(), ['mail.own.test']);
    const stranger = await testCertificate();

    const start = startSink({ tls: 'starttls', certificate: { key: stranger.key, cert: own.cert, ca: own.ca } });

    await expect(start).rejects.toThrow(/option "certificate" cannot be used: .*key values mismatch/);
  });

  it('works with a chain made by testCertificate under another CA', async () => {
    // A fresh cache folder means a CA of its own, unrelated to the one startSink uses by default.
    const other = await testCertificate({ cacheDir: await folderForTest() });
    const sink = await sinkForTest({
      tls: 'starttls',
      certificate: { key: other.key, cert: other.cert, ca: other.ca },
    });
    const defaultSink = await sinkForTest({ tls: 'starttls' });

    await sendWithNodemailer({ host: 'localhost', port: sink.port, requireTLS: true, tls: sink.clientTls() });

    expect(sink.ca).toBe(other.ca);
    expect(sink.ca).not.toBe(defaultSink.ca);
    await sink.waitFor(1);
  });
});

describe('tlsHostnames', () => {
  it('adds names the generated certificate is valid for', async () => {
    const sink = await sinkForTest({ tls: 'implicit', tlsHostnames: ['smtp.app.test'] });

    await sendWithNodemailer({
      host: '127.0.0.1',
      port: sink.tlsPort,
      secure: true,
      tls: { ca: sink.ca, servername: 'smtp.app.test' },
    });

    await sink.waitFor(1);
    expect(sink.accepted).toBe(1);
  });
});

describe('tlsCacheDir', () => {
  it('gives a sink in another process the same CA', async () => {
    const dir = await folderForTest();
    const sink = await sinkForTest({ tls: 'starttls', tlsCacheDir: dir });
    // The child loads the CommonJS build, as a Jest worker would.
    const core = createRequire(import.meta.url).resolve('@mailhole/core');
    const child = `
      const { startSink } = require(process.argv[1]);
      startSink({ tls: 'starttls', tlsCacheDir: process.argv[2] }).then(async (sink) => {
        process.stdout.write(JSON.stringify({ pid: process.pid, ca: sink.ca }));
        await sink.close();
      });
    `;

    const result = await run(process.execPath, ['-e', child, core, dir]);

    expect(result.code, result.stderr).toBe(0);
    const seen = JSON.parse(result.stdout) as { pid: number; ca: string };
    expect(seen.pid).not.toBe(process.pid);
    expect(seen.ca).toBe(sink.ca);
  });
});

describe('sink.writeCa(path)', () => {
  it('writes the CA to a new folder as a file curl verifies the sink with', async () => {
    const sink = await sinkForTest({ tls: 'implicit' });
    const wanted = join(await folderForTest(), 'nested', 'ca.pem');

    const written = await sink.writeCa(wanted);
    const result = await curlSend(`smtps://127.0.0.1:${sink.tlsPort}/client.test`, ['--cacert', written]);

    expect(isAbsolute(written)).toBe(true);
    expect((await readFile(written, 'utf8')).trim()).toBe(sink.ca?.trim());
    expect(result.code, result.stderr).toBe(0);
    await sink.waitFor(1);
  });
});
