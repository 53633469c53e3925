import { createHash, createPrivateKey, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { domainToASCII } from 'node:url';
import { writeFileAtomic } from './atomic-file.js';
import { createCacheFile, openCacheDir, readCacheFile, replaceCacheFile } from './cache-dir.js';
import { type CertificateAuthority, createAuthority, issueServerCertificate, type Validity } from './issue.js';

export { defaultCacheDir } from './cache-dir.js';

export type { CertificateAuthority } from './issue.js';

/**
 * What a TLS server needs to present a certificate, and what its clients need to trust it.
 * `key` and `cert` go straight into `tls.createSecureContext`; `ca` goes to the client.
 */
export interface ServerCertificate {
  /** PEM private key of the server certificate */
  key: string;
  /** PEM server certificate followed by any intermediates (what node:tls wants as `cert`) */
  cert: string;
  /** PEM of the CA that clients must trust */
  ca: string;
  /** The names the certificate is valid for: DNS names and IP addresses */
  hostnames: string[];
  notBefore: Date;
  notAfter: Date;
}

/**
 * How a deliberately broken certificate is broken:
 * - `expired`: signed by the test CA, but its validity ended before now;
 * - `wrong-host`: signed by the test CA, but names only `wrong-host.invalid`;
 * - `untrusted`: right names and dates, but signed by a throwaway CA no client trusts.
 */
export type CertificateFault = 'expired' | 'wrong-host' | 'untrusted';

export interface CertificateOptions {
  /**
   * Names the server certificate must be valid for, besides `localhost`, `127.0.0.1` and `::1`,
   * which it always covers. IP literals become IP SANs, anything else DNS SANs (`*.` allowed).
   */
  hostnames?: string[];
  /**
   * A folder in which to keep the CA and server certificate, so that separate processes (Jest
   * workers, a `globalSetup` and its tests, successive runs) trust one CA. Unset: in memory only.
   */
  cacheDir?: string;
  /**
   * Days a newly made certificate is valid; default 30. The process's CA is made by its first
   * call, with that call's value, and no server certificate outlives its CA.
   */
  validityDays?: number;
}

const DEFAULT_HOSTNAMES = ['localhost', '127.0.0.1', '::1'];
const WRONG_HOST = 'wrong-host.invalid';
const DEFAULT_VALIDITY_DAYS = 30;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Backdating covers a client whose clock runs behind the machine that made the certificate. */
const BACKDATE = HOUR;
/** A cached certificate about to expire would fail mid-run; replace it a day ahead instead. */
const MIN_REMAINING = DAY;
const CA_FILE = 'ca.pem';
const FAULTS: readonly CertificateFault[] = ['expired', 'wrong-host', 'untrusted'];

/**
 * The test CA and a server certificate it signed for `localhost`, `127.0.0.1`, `::1` and any
 * `hostnames`. Made once per process: later calls with the same hostnames and `cacheDir` get the
 * same promise, and one CA signs every certificate of the process (per `cacheDir`).
 *
 * @example const { key, cert, ca } = await testCertificate({ hostnames: ['mail.test'] });
 */
export function testCertificate(options?: CertificateOptions): Promise<ServerCertificate> {
  let request: Request;
  try {
    request = readOptions(options);
  } catch (error) {
    return Promise.reject(error);
  }
  return memoise(serverCertificates, request.key, async () => {
    const authority = await authorityFor(request);
    if (request.cacheDir === undefined) return makeServerCertificate(authority, request);
    return cachedServerCertificate(authority, request, request.cacheDir);
  });
}

/**
 * A server certificate that a verifying client must reject, for testing how a sender copes with
 * TLS faults. `ca` is always the regular test CA, the one a test's client trusts. Memoised like
 * {@link testCertificate}, and never written to `cacheDir` (only the CA it uses is shared).
 *
 * @example const { key, cert } = await faultCertificate('expired');
 */
export function faultCertificate(fault: CertificateFault, options?: CertificateOptions): Promise<ServerCertificate> {
  let request: Request;
  try {
    if (!FAULTS.includes(fault)) {
      throw new TypeError(
        `mailhole has no certificate fault ${JSON.stringify(fault)}; choose one of ${FAULTS.map((f) => `'${f}'`).join(', ')}.`,
      );
    }
    request = readOptions(options);
  } catch (error) {
    return Promise.reject(error);
  }
  return memoise(faultCertificates, `${fault}|${request.key}`, async () => {
    const authority = await authorityFor(request);
    const now = Date.now();
    switch (fault) {
      case 'expired': {
        // Inside the CA's own validity where possible, so that expiry is the only thing wrong.
        const notAfter = new Date(now - 10 * MINUTE);
        const notBefore = authority.notBefore < notAfter ? authority.notBefore : new Date(notAfter.getTime() - HOUR);
        return makeServerCertificate(authority, request, { notBefore, notAfter });
      }
      case 'wrong-host':
        return makeServerCertificate(authority, { ...request, hostnames: [WRONG_HOST] });
      case 'untrusted': {
        // Its name differs from the real CA's, so that a client looking for the issuer among the
        // CAs it trusts finds none, rather than the real one with a signature that does not match.
        const stranger = await makeAuthority('mailhole untrusted CA', request.validityDays);
        const certificate = await makeServerCertificate(stranger, request);
        return Object.freeze({ ...certificate, ca: authority.certPem });
      }
    }
  });
}

/**
 * Writes a CA certificate (PEM) where a client can be pointed at it, e.g. `NODE_EXTRA_CA_CERTS`
 * or `openssl s_client -CAfile`; creates missing folders. Resolves to the absolute path.
 *
 * @example process.env.NODE_EXTRA_CA_CERTS = await writeCaFile(sink.ca, '.mailhole/ca.pem');
 */
export async function writeCaFile(ca: string, path: string): Promise<string> {
  if (typeof ca !== 'string' || !ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TypeError(
      'writeCaFile expects the PEM text of a CA certificate (sink.ca, or the `ca` of testCertificate()), ' +
        `got ${typeof ca === 'string' ? 'a string with no certificate in it' : typeof ca}.`,
    );
  }
  const absolute = resolve(path);
  try {
    await mkdir(dirname(absolute), { recursive: true });
    // A certificate is public: readable by all, like the system's own CA bundle.
    await writeFileAtomic(absolute, ca.endsWith('\n') ? ca : `${ca}\n`, 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`mailhole could not write the CA certificate to ${absolute}: ${code}. Choose a writable path.`, {
      cause: error,
    });
  }
  return absolute;
}

interface Request {
  /** Defaults first, then the caller's, normalised and without repeats. */
  hostnames: string[];
  cacheDir: string | undefined;
  validityDays: number;
  /** Identifies the certificate this request asks for, whatever order the hostnames came in. */
  key: string;
}

function readOptions(options: CertificateOptions | undefined): Request {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`mailhole's tls options must be an object, got ${options === null ? 'null' : typeof options}.`);
  }
  const { hostnames = [], cacheDir, validityDays = DEFAULT_VALIDITY_DAYS } = options ?? {};
  if (!Array.isArray(hostnames)) {
    throw new TypeError(`tls.hostnames must be an array of host names or IP addresses, e.g. ['mail.test'].`);
  }
  if (typeof validityDays !== 'number' || !Number.isFinite(validityDays) || validityDays <= 0) {
    throw new RangeError(`tls.validityDays must be a positive number of days, got ${String(validityDays)}.`);
  }
  if (cacheDir !== undefined && (typeof cacheDir !== 'string' || cacheDir.trim() === '')) {
    throw new TypeError(`tls.cacheDir must be a folder path, got ${JSON.stringify(cacheDir)}.`);
  }
  const names = [...new Set([...DEFAULT_HOSTNAMES, ...hostnames.map(normaliseHostname)])];
  const folder = cacheDir === undefined ? undefined : resolve(cacheDir);
  return {
    hostnames: names,
    cacheDir: folder,
    validityDays,
    key: JSON.stringify([[...names].sort(), folder ?? null, validityDays]),
  };
}

const DNS_LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
const DNS_NAME = new RegExp(`^(?:\\*\\.)?(?:${DNS_LABEL}\\.)*${DNS_LABEL}$`);

/** One spelling per name, so that `::1`, `[::1]` and `0:0::1`, or `Mail.Test` and `mail.test`, are one SAN. */
function normaliseHostname(entry: unknown): string {
  const invalid = () =>
    new TypeError(
      `tls.hostnames entry ${JSON.stringify(entry)} is neither a DNS name nor an IP address; ` +
        `give names like 'mail.test', '*.mail.test', '10.0.0.5' or '::1'.`,
    );
  if (typeof entry !== 'string') throw invalid();
  const name = entry.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIP(name) === 4) return name;
  if (isIP(name) === 6) {
    // A zone (fe80::1%eth0) names an interface of one machine; no certificate can carry it.
    if (name.includes('%')) throw invalid();
    return new URL(`http://[${name}]`).hostname.slice(1, -1);
  }
  const ascii = domainToASCII(name);
  if (isIP(ascii) === 4) return ascii;
  if (ascii.length > 253 || !DNS_NAME.test(ascii)) throw invalid();
  return ascii;
}

/** A CA with the dates read back from its certificate, to bound what it signs. */
interface Authority extends CertificateAuthority, Validity {}

const authorities = new Map<string, Promise<Authority>>();
const serverCertificates = new Map<string, Promise<ServerCertificate>>();
const faultCertificates = new Map<string, Promise<ServerCertificate>>();

/** Caches the promise, so concurrent first calls share one piece of work; forgets a failure, so a later call can retry. */
function memoise<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let promise = cache.get(key);
  if (!promise) {
    const made = make();
    made.catch(() => {
      if (cache.get(key) === made) cache.delete(key);
    });
    cache.set(key, made);
    promise = made;
  }
  return promise;
}

/** One CA per process (per `cacheDir`): every sink of a test run is trusted through the same `ca`. */
function authorityFor(request: Request): Promise<Authority> {
  const dir = request.cacheDir;
  return memoise(authorities, dir ?? '', () =>
    dir === undefined
      ? makeAuthority('mailhole test CA', request.validityDays)
      : cachedAuthority(dir, request.validityDays),
  );
}

async function makeAuthority(name: string, validityDays: number): Promise<Authority> {
  const now = Date.now();
  const { certPem, keyPem } = await createAuthority(`${name} ${randomBytes(4).toString('hex')}`, {
    notBefore: new Date(now - BACKDATE),
    notAfter: new Date(now + validityDays * DAY),
  });
  // Node's spelling of the PEM, so a CA made here and the same CA read back from tls.cacheDir
  // compare equal as strings.
  const certificate = new X509Certificate(certPem);
  return { certPem: certificate.toString(), keyPem, ...validityOf(certificate) };
}

async function makeServerCertificate(
  authority: Authority,
  request: Pick<Request, 'hostnames' | 'validityDays'>,
  validity?: Validity,
): Promise<ServerCertificate> {
  const now = Date.now();
  const { certPem, keyPem } = await issueServerCertificate(authority, {
    commonName: request.hostnames.find((name) => isIP(name) === 0) ?? 'localhost',
    hostnames: request.hostnames,
    ...(validity ?? {
      notBefore: latest(new Date(now - BACKDATE), authority.notBefore),
      notAfter: earliest(new Date(now + request.validityDays * DAY), authority.notAfter),
    }),
  });
  const certificate = new X509Certificate(certPem);
  return serverCertificate(authority, request.hostnames, certificate.toString(), keyPem, certificate);
}

function serverCertificate(
  authority: Authority,
  hostnames: string[],
  certPem: string,
  keyPem: string,
  certificate: X509Certificate,
): ServerCertificate {
  // Shared by every caller in the process: a test that edited its copy would change the others'.
  return Object.freeze({
    key: keyPem,
    cert: certPem,
    ca: authority.certPem,
    hostnames: Object.freeze([...hostnames]) as string[],
    ...validityOf(certificate),
  });
}

async function cachedAuthority(dir: string, validityDays: number): Promise<Authority> {
  await openCacheDir(dir);
  const found = await readCacheFile(dir, CA_FILE);
  const reusable = found === undefined ? undefined : reusableAuthority(found);
  if (reusable) return reusable;

  const made = await makeAuthority('mailhole test CA', validityDays);
  const text = fileText('mailhole test CA', made.certPem, made.keyPem);
  if (found === undefined && (await createCacheFile(dir, CA_FILE, text))) return made;
  // Another process published a CA since we looked, or replaced the stale one while we made ours
  // (that takes long enough): trust the CA everyone else trusts.
  const current = await readCacheFile(dir, CA_FILE);
  const theirs = current === undefined || current === found ? undefined : reusableAuthority(current);
  if (theirs) return theirs;
  await replaceCacheFile(dir, CA_FILE, text);
  return made;
}

async function cachedServerCertificate(
  authority: Authority,
  request: Request,
  dir: string,
): Promise<ServerCertificate> {
  // One file per set of names: processes asking for different names do not overwrite each other.
  const digest = createHash('sha256').update(request.key).digest('hex').slice(0, 16);
  const name = `server-${digest}.pem`;
  const found = await readCacheFile(dir, name);
  const reusable = found === undefined ? undefined : reusableServerCertificate(found, authority, request.hostnames);
  if (reusable) return reusable;
  const made = await makeServerCertificate(authority, request);
  await replaceCacheFile(
    dir,
    name,
    fileText(`mailhole server certificate for ${request.hostnames.join(', ')}`, made.cert, made.key),
  );
  return made;
}

function fileText(what: string, certPem: string, keyPem: string): string {
  return (
    `${what}, made by mailhole for tests on ${new Date().toISOString()}.\n` +
    'Delete this file to have a new one made.\n\n' +
    `${certPem.trim()}\n${keyPem.trim()}\n`
  );
}

interface ParsedFile {
  certificate: X509Certificate;
  key: KeyObject;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?\r?\n-----END \1-----/g;

/** The certificate and key of a cached file, or `undefined` if it is damaged in any way. */
function parseFile(text: string): ParsedFile | undefined {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  const certificates = blocks.filter((block) => block[1] === 'CERTIFICATE');
  const keys = blocks.filter((block) => block[1] === 'PRIVATE KEY');
  if (certificates.length !== 1 || keys.length !== 1) return undefined;
  try {
    const certificate = new X509Certificate(certificates[0]?.[0] ?? '');
    const key = createPrivateKey(keys[0]?.[0] ?? '');
    const ok = key.asymmetricKeyDetails?.namedCurve === 'prime256v1' && certificate.checkPrivateKey(key);
    return ok ? { certificate, key } : undefined;
  } catch {
    return undefined;
  }
}

function reusableAuthority(text: string): Authority | undefined {
  const parsed = parseFile(text);
  if (!parsed?.certificate.ca || !parsed.certificate.verify(parsed.certificate.publicKey)) return undefined;
  const validity = validityOf(parsed.certificate);
  if (!stillValid(validity)) return undefined;
  return {
    certPem: parsed.certificate.toString(),
    keyPem: parsed.key.export({ type: 'pkcs8', format: 'pem' }) as string,
    ...validity,
  };
}

function reusableServerCertificate(
  text: string,
  authority: Authority,
  hostnames: string[],
): ServerCertificate | undefined {
  const parsed = parseFile(text);
  if (!parsed) return undefined;
  const { certificate } = parsed;
  const issuer = new X509Certificate(authority.certPem);
  if (certificate.ca || !certificate.checkIssued(issuer) || !certificate.verify(issuer.publicKey)) return undefined;
  if (!stillValid(validityOf(certificate)) || !covers(certificate, hostnames)) return undefined;
  const keyPem = parsed.key.export({ type: 'pkcs8', format: 'pem' }) as string;
  return serverCertificate(authority, hostnames, certificate.toString(), keyPem, certificate);
}

function covers(certificate: X509Certificate, hostnames: string[]): boolean {
  const dnsNames = new Set(
    (certificate.subjectAltName ?? '')
      .split(', ')
      .filter((entry) => entry.startsWith('DNS:'))
      .map((entry) => entry.slice(4).toLowerCase()),
  );
  // checkIP, not the text: OpenSSL versions spell IPv6 SANs differently (::1 or 0:0:0:0:0:0:0:1).
  return hostnames.every((name) => (isIP(name) ? certificate.checkIP(name) !== undefined : dnsNames.has(name)));
}

function stillValid({ notBefore, notAfter }: Validity): boolean {
  const now = Date.now();
  return notBefore.getTime() <= now && notAfter.getTime() - now >= MIN_REMAINING;
}

function validityOf(certificate: X509Certificate): Validity {
  return { notBefore: new Date(certificate.validFrom), notAfter: new Date(certificate.validTo) };
}

function latest(a: Date, b: Date): Date {
  return a > b ? a : b;
}

function earliest(a: Date, b: Date): Date {
  return a < b ? a : b;
}
