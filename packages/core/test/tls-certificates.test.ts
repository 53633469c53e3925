import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type CertificateFault,
  defaultCacheDir,
  faultCertificate,
  type ServerCertificate,
  testCertificate,
  writeCaFile,
} from '../src/tls/certificates.js';
import { loadX509 } from '../src/tls/x509-module.js';

type CertificatesModule = typeof import('../src/tls/certificates.js');

/** A module instance with empty memo caches, as a separate process (a Jest worker) would have. */
async function freshModule(): Promise<CertificatesModule> {
  vi.resetModules();
  return import('../src/tls/certificates.js');
}

interface Outcome {
  /** The server's first line, when the handshake succeeded and data flowed. */
  greeting?: string;
  /** The client's error code, when it refused the server. */
  code?: string;
}

/** A real node:tls server presenting `certificate`, and a verifying client connecting to it. */
async function handshake(
  certificate: Pick<ServerCertificate, 'key' | 'cert'>,
  client: tls.ConnectionOptions,
): Promise<Outcome> {
  const sockets = new Set<Socket>();
  const server = tls.createServer({ key: certificate.key, cert: certificate.cert }, (socket) => {
    socket.end('220 mailhole ready\r\n');
  });
  server.on('connection', (socket: Socket) => sockets.add(socket));
  // The refusing client aborts the handshake; that is the expected outcome, not a server failure.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<Outcome>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: true, ...client });
      socket.setEncoding('utf8');
      socket.once('data', (data: string) => {
        resolve({ greeting: data.trim() });
        socket.destroy();
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        resolve({ code: error.code ?? error.message });
        socket.destroy();
      });
    });
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const folders: string[] = [];

async function temporaryFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'mailhole-tls-test-'));
  folders.push(folder);
  return folder;
}

afterAll(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

describe('testCertificate', () => {
  let certificate: ServerCertificate;
  let server: X509Certificate;
  let authority: X509Certificate;

  beforeAll(async () => {
    certificate = await testCertificate({ hostnames: ['mail.test', '10.1.2.3', '*.wild.test', '[2001:db8::25]'] });
    server = new X509Certificate(certificate.cert);
    authority = new X509Certificate(certificate.ca);
  });

  it('is signed by the CA it exports', () => {
    expect(server.checkIssued(authority)).toBe(true);
    expect(server.verify(authority.publicKey)).toBe(true);
    expect(authority.verify(authority.publicKey)).toBe(true);
    expect(authority.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(authority.subject).toMatch(/^CN=mailhole test CA [0-9a-f]{8}$/);
  });

  it('names localhost, 127.0.0.1 and ::1, and every requested hostname', () => {
    expect(server.subjectAltName).toContain('DNS:localhost');
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkIP('::1')).toBe('::1');
    expect(server.checkHost('mail.test')).toBe('mail.test');
    expect(server.checkHost('smtp.wild.test')).toBe('*.wild.test');
    expect(server.checkIP('10.1.2.3')).toBe('10.1.2.3');
    expect(server.checkIP('2001:db8::25')).toBe('2001:db8::25');
    // The same check node:tls applies to a server it reached over IPv6 loopback.
    expect(tls.checkServerIdentity('::1', server.toLegacyObject())).toBeUndefined();
    expect(server.checkHost('other.test')).toBeUndefined();
    expect(certificate.hostnames).toEqual([
      'localhost',
      '127.0.0.1',
      '::1',
      'mail.test',
      '10.1.2.3',
      '*.wild.test',
      '2001:db8::25',
    ]);
  });

  it('uses EC P-256 keys, and its private key matches the certificate', () => {
    for (const publicKey of [server.publicKey, authority.publicKey]) {
      expect(publicKey.asymmetricKeyType).toBe('ec');
      expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    }
    expect(server.checkPrivateKey(createPrivateKey(certificate.key))).toBe(true);
    expect(certificate.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('carries the extensions of a CA and of a TLS server certificate, signed with ECDSA SHA-256', async () => {
    const x509 = await loadX509();
    const ca = new x509.X509Certificate(certificate.ca);
    const leaf = new x509.X509Certificate(certificate.cert);
    for (const parsed of [ca, leaf]) {
      expect(parsed.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
    }

    const caConstraints = ca.getExtension(x509.BasicConstraintsExtension);
    expect(caConstraints).toMatchObject({ ca: true, critical: true });
    const caUsage = ca.getExtension(x509.KeyUsagesExtension);
    expect(caUsage?.critical).toBe(true);
    expect(caUsage?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    const caKeyId = ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    expect(caKeyId).toMatch(/^[0-9a-f]+$/);

    expect(leaf.getExtension(x509.BasicConstraintsExtension)).toMatchObject({ ca: false, critical: true });
    expect(leaf.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.serverAuth]);
    expect(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(caKeyId);
    // RFC 5280: a positive serial; we use 128 random bits.
    expect(leaf.serialNumber).toMatch(/^[0-7][0-9a-f]{31}$/i);
    expect(leaf.serialNumber).not.toBe(ca.serialNumber);
  });

  it('is valid from an hour ago for 30 days, within its CA', () => {
    const now = Date.now();
    expect(certificate.notBefore.getTime()).toBeGreaterThan(now - 65 * 60_000);
    expect(certificate.notBefore.getTime()).toBeLessThan(now - 55 * 60_000);
    expect(certificate.notAfter.getTime()).toBeGreaterThan(now + 29.9 * 86_400_000);
    expect(certificate.notAfter.getTime()).toBeLessThanOrEqual(new Date(authority.validTo).getTime());
    expect(certificate.notBefore).toEqual(new Date(server.validFrom));
    expect(certificate.notAfter).toEqual(new Date(server.validTo));
  });

  it('never outlives its CA, whatever validityDays asks', async () => {
    const module = await freshModule();
    const short = await module.testCertificate({ validityDays: 2 });
    const long = await module.testCertificate({ validityDays: 365, hostnames: ['long.test'] });
    expect(long.ca).toBe(short.ca);
    expect(long.notAfter.getTime()).toBeLessThanOrEqual(new Date(new X509Certificate(short.ca).validTo).getTime());
  });

  it('is made once per process: a second call resolves the same promise and object', async () => {
    expect(testCertificate()).toBe(testCertificate());
    expect(await testCertificate()).toBe(await testCertificate());
    expect(testCertificate({ hostnames: ['b.test', 'a.test'] })).toBe(
      testCertificate({ hostnames: ['A.test', 'b.test', 'a.test'] }),
    );
    expect((await testCertificate()).ca).toBe(certificate.ca);
    expect(Object.isFrozen(certificate)).toBe(true);
  });

  it('is trusted by a verifying node:tls client that connects by name', async () => {
    const outcome = await handshake(certificate, { ca: certificate.ca, servername: 'localhost' });
    expect(outcome).toEqual({ greeting: '220 mailhole ready' });
  });

  it('is trusted by a verifying node:tls client that connects by IP address', async () => {
    const outcome = await handshake(certificate, { ca: certificate.ca });
    expect(outcome).toEqual({ greeting: '220 mailhole ready' });
  });

  it('is refused by a client that does not trust the test CA', async () => {
    const outcome = await handshake(certificate, { servername: 'localhost' });
    expect(outcome.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('leaves Reflect as it found it, although @peculiar/x509 needs Reflect metadata to load', () => {
    expect('getMetadata' in Reflect).toBe(false);
    expect('defineMetadata' in Reflect).toBe(false);
  });

  it('rejects options it cannot honour, naming the option to fix', async () => {
    await expect(testCertificate({ hostnames: ['mail test'] })).rejects.toThrow(/tls\.hostnames entry "mail test"/);
    await expect(testCertificate({ hostnames: ['fe80::1%eth0'] })).rejects.toThrow(/tls\.hostnames/);
    await expect(testCertificate({ validityDays: 0 })).rejects.toThrow(/tls\.validityDays must be a positive number/);
    await expect(faultCertificate('revoked' as CertificateFault)).rejects.toThrow(/no certificate fault "revoked"/);
  });
});

describe('faultCertificate', () => {
  const faults: Array<[CertificateFault, string]> = [
    ['expired', 'CERT_HAS_EXPIRED'],
    ['wrong-host', 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['untrusted', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  ];

  it.each(faults)('%s: a verifying client connecting by name fails with %s', async (fault, code) => {
    const certificate = await faultCertificate(fault);
    const outcome = await handshake(certificate, { ca: certificate.ca, servername: 'localhost' });
    expect(outcome).toEqual({ code });
  });

  it.each(faults)('%s: a verifying client connecting by IP address fails with %s', async (fault, code) => {
    const certificate = await faultCertificate(fault);
    const outcome = await handshake(certificate, { ca: certificate.ca });
    expect(outcome).toEqual({ code });
  });

  it('exports the regular test CA, and is memoised', async () => {
    const regular = await testCertificate();
    for (const [fault] of faults) {
      expect(faultCertificate(fault)).toBe(faultCertificate(fault));
      expect((await faultCertificate(fault)).ca).toBe(regular.ca);
    }
  });

  it('expired: signed by the test CA, with a validity that ended before now', async () => {
    const certificate = await faultCertificate('expired');
    const leaf = new X509Certificate(certificate.cert);
    expect(leaf.verify(new X509Certificate(certificate.ca).publicKey)).toBe(true);
    expect(certificate.notAfter.getTime()).toBeLessThan(Date.now());
    expect(leaf.checkHost('localhost')).toBe('localhost');
  });

  it('wrong-host: signed by the test CA, naming only wrong-host.invalid', async () => {
    const certificate = await faultCertificate('wrong-host');
    const leaf = new X509Certificate(certificate.cert);
    expect(leaf.verify(new X509Certificate(certificate.ca).publicKey)).toBe(true);
    expect(leaf.subjectAltName).toBe('DNS:wrong-host.invalid');
    expect(certificate.hostnames).toEqual(['wrong-host.invalid']);
  });

  it('untrusted: right names and dates, signed by a CA other than the exported one', async () => {
    const certificate = await faultCertificate('untrusted');
    const leaf = new X509Certificate(certificate.cert);
    const exported = new X509Certificate(certificate.ca);
    expect(leaf.checkIssued(exported)).toBe(false);
    expect(leaf.verify(exported.publicKey)).toBe(false);
    expect(leaf.issuer).toMatch(/^CN=mailhole untrusted CA [0-9a-f]{8}$/);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(certificate.notAfter.getTime()).toBeGreaterThan(Date.now());
  });
});

describe('tls.cacheDir', () => {
  it('lets a fresh module instance (another process) reuse the CA and server certificate', async () => {
    const cacheDir = await temporaryFolder();
    const first = await (await freshModule()).testCertificate({ cacheDir });
    const second = await (await freshModule()).testCertificate({ cacheDir });
    expect(second.ca).toBe(first.ca);
    expect(second.cert).toBe(first.cert);
    expect(createPrivateKey(second.key).export({ format: 'jwk' })).toEqual(
      createPrivateKey(first.key).export({ format: 'jwk' }),
    );

    const files = (await readdir(cacheDir)).sort();
    expect(files).toEqual(['ca.pem', expect.stringMatching(/^server-[0-9a-f]{16}\.pem$/)]);
    if (process.platform !== 'win32') {
      for (const file of files) expect((await stat(join(cacheDir, file))).mode & 0o777).toBe(0o600);
    }
    const outcome = await handshake(second, { ca: first.ca, servername: 'localhost' });
    expect(outcome.greeting).toBe('220 mailhole ready');
  });

  it('signs certificates for other hostnames with the cached CA', async () => {
    const cacheDir = await temporaryFolder();
    const plain = await (await freshModule()).testCertificate({ cacheDir });
    const named = await (await freshModule()).testCertificate({ cacheDir, hostnames: ['mail.test'] });
    expect(named.ca).toBe(plain.ca);
    expect(new X509Certificate(named.cert).checkHost('mail.test')).toBe('mail.test');
    expect(await readdir(cacheDir)).toHaveLength(3);
  });

  it('gives two instances that start together on an empty folder one CA', async () => {
    const cacheDir = await temporaryFolder();
    const [one, two] = [await freshModule(), await freshModule()];
    const [a, b] = await Promise.all([one.testCertificate({ cacheDir }), two.testCertificate({ cacheDir })]);
    expect(b.ca).toBe(a.ca);
    expect(await readFile(join(cacheDir, 'ca.pem'), 'utf8')).toContain(a.ca.trim());
    expect((await readdir(cacheDir)).filter((file) => file.endsWith('.tmp'))).toEqual([]);
  });

  it('replaces a corrupt CA file with a new CA', async () => {
    const cacheDir = await temporaryFolder();
    const before = await (await freshModule()).testCertificate({ cacheDir });
    const file = join(cacheDir, 'ca.pem');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, text.length / 2));

    const after = await (await freshModule()).testCertificate({ cacheDir });
    expect(after.ca).not.toBe(before.ca);
    const leaf = new X509Certificate(after.cert);
    expect(leaf.verify(new X509Certificate(after.ca).publicKey)).toBe(true);
    expect(await readFile(file, 'utf8')).toContain(after.ca.trim());
  });

  it('replaces a corrupt server certificate file, keeping the CA', async () => {
    const cacheDir = await temporaryFolder();
    const before = await (await freshModule()).testCertificate({ cacheDir });
    const serverFile = (await readdir(cacheDir)).find((file) => file.startsWith('server-')) ?? '';
    await writeFile(join(cacheDir, serverFile), 'not a certificate\n');

    const after = await (await freshModule()).testCertificate({ cacheDir });
    expect(after.ca).toBe(before.ca);
    expect(after.cert).not.toBe(before.cert);
    expect(await handshake(after, { ca: after.ca })).toEqual({ greeting: '220 mailhole ready' });
    expect(await readFile(join(cacheDir, serverFile), 'utf8')).toContain(after.cert.trim());
  });

  it('replaces a cached CA with less than a day to live', async () => {
    const cacheDir = await temporaryFolder();
    const dying = await (await freshModule()).testCertificate({ cacheDir, validityDays: 0.5 });
    const after = await (await freshModule()).testCertificate({ cacheDir });
    expect(after.ca).not.toBe(dying.ca);
    expect(after.notAfter.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
  });

  it('signs fault certificates with the cached CA', async () => {
    const cacheDir = await temporaryFolder();
    const module = await freshModule();
    const regular = await module.testCertificate({ cacheDir });
    const expired = await module.faultCertificate('expired', { cacheDir });
    expect(expired.ca).toBe(regular.ca);
    expect(new X509Certificate(expired.cert).checkIssued(new X509Certificate(regular.ca))).toBe(true);
  });

  it('names the tls.cacheDir option when the folder cannot be used', async () => {
    const file = join(await temporaryFolder(), 'a-file');
    await writeFile(file, '');
    await expect(testCertificate({ cacheDir: join(file, 'certificates') })).rejects.toThrow(
      /could not create the certificate folder in tls\.cacheDir .*ENOTDIR.*Point tls\.cacheDir at a folder/,
    );
    await expect(testCertificate({ cacheDir: file })).rejects.toThrow(/tls\.cacheDir \(.*\) is a file, not a folder/);
  });

  it('defaults to a folder per user in the OS temporary folder', () => {
    expect(defaultCacheDir()).toMatch(/[\\/]mailhole-ca-[^\\/]+$/);
    expect(defaultCacheDir().startsWith(tmpdir())).toBe(true);
  });
});

describe('writeCaFile', () => {
  it('writes the CA where a client can load it, creating folders, and returns the absolute path', async () => {
    const certificate = await testCertificate();
    const folder = await temporaryFolder();
    const path = await writeCaFile(certificate.ca, join(folder, 'nested', 'ca.pem'));
    expect(isAbsolute(path)).toBe(true);
    expect(path).toBe(join(folder, 'nested', 'ca.pem'));
    const ca = await readFile(path, 'utf8');
    expect(ca.trim()).toBe(certificate.ca.trim());
    expect(await handshake(certificate, { ca, servername: 'localhost' })).toEqual({ greeting: '220 mailhole ready' });
  });

  it('refuses text that holds no certificate', async () => {
    const folder = await temporaryFolder();
    await expect(writeCaFile('', join(folder, 'ca.pem'))).rejects.toThrow(/expects the PEM text of a CA certificate/);
  });
});
