import { createPrivateKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { loadX509, type X509Module } from './x509-module.js';

/** A certificate authority: its certificate and private key, both PEM. */
export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

/** A certificate and its private key, both PEM. */
export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

export interface ServerCertificateRequest extends Validity {
  /** Subject CN: only legacy clients look at it, SANs are what node:tls checks. */
  commonName: string;
  /** Normalised already: IP literals become IP SANs, everything else DNS SANs. */
  hostnames: readonly string[];
}

// The types of `@peculiar/x509` expect the DOM `Crypto`, which Node's webcrypto implements but
// `@types/node` declares separately; passing it explicitly keeps the library's global provider
// untouched for any other user of it in the process.
type X509Crypto = Parameters<X509Module['X509CertificateGenerator']['create']>[1];
const webCrypto = webcrypto as unknown as NonNullable<X509Crypto>;

const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** Makes a self-signed P-256 CA that may sign end-entity certificates only (path length 0). */
export async function createAuthority(commonName: string, validity: Validity): Promise<CertificateAuthority> {
  const x509 = await loadX509();
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialNumber(),
      name: [{ CN: [commonName] }],
      keys,
      signingAlgorithm: ECDSA_SHA256,
      notBefore: validity.notBefore,
      notAfter: validity.notAfter,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webCrypto),
      ],
    },
    webCrypto,
  );
  return { certPem: certificate.toString('pem'), keyPem: privateKeyPem(keys.privateKey) };
}

/** Signs a TLS server certificate (serverAuth, P-256) for `request.hostnames` with `authority`. */
export async function issueServerCertificate(
  authority: CertificateAuthority,
  request: ServerCertificateRequest,
): Promise<IssuedCertificate> {
  const x509 = await loadX509();
  const issuer = await signerFor(authority);
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialNumber(),
      subject: [{ CN: [request.commonName] }],
      issuer: issuer.subject,
      publicKey: keys.publicKey,
      signingKey: issuer.signingKey,
      signingAlgorithm: ECDSA_SHA256,
      notBefore: request.notBefore,
      notAfter: request.notAfter,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(
          request.hostnames.map((name) => ({ type: isIP(name) ? 'ip' : 'dns', value: name })),
        ),
        // Copying the CA's own key id (rather than hashing its key again) guarantees that chain
        // builders match the two, whichever hash made the CA's identifier.
        new x509.AuthorityKeyIdentifierExtension(issuer.keyId),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webCrypto),
      ],
    },
    webCrypto,
  );
  return { certPem: certificate.toString('pem'), keyPem: privateKeyPem(keys.privateKey) };
}

interface Signer {
  subject: InstanceType<X509Module['X509Certificate']>['subjectName'];
  keyId: string;
  signingKey: webcrypto.CryptoKey;
}

// A CA read from tls.cacheDir signs several certificates (the server one, the fault ones):
// parse it and import its key once.
const signers = new WeakMap<CertificateAuthority, Promise<Signer>>();

function signerFor(authority: CertificateAuthority): Promise<Signer> {
  let signer = signers.get(authority);
  if (!signer) {
    signer = loadSigner(authority);
    signers.set(authority, signer);
  }
  return signer;
}

async function loadSigner(authority: CertificateAuthority): Promise<Signer> {
  const x509 = await loadX509();
  const certificate = new x509.X509Certificate(authority.certPem);
  const keyIdentifier = certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  const keyId =
    keyIdentifier?.keyId ??
    (await x509.SubjectKeyIdentifierExtension.create(certificate.publicKey, false, webCrypto)).keyId;
  const pkcs8 = createPrivateKey(authority.keyPem).export({ type: 'pkcs8', format: 'der' });
  const signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, P256, false, ['sign']);
  return { subject: certificate.subjectName, keyId, signingKey };
}

function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(P256, true, ['sign', 'verify']);
}

function privateKeyPem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
}

/**
 * 128 random bits with the top bit clear and a non-zero first byte, so the DER INTEGER is
 * positive and minimally encoded, as RFC 5280 requires of serial numbers.
 */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) % 0x7f) + 1;
  return bytes.toString('hex');
}
