import { createSecureContext, type SecureContext } from 'node:tls';
import { type CertificateFault, faultCertificate, testCertificate } from '../tls/certificates.js';
import type { ResolvedOptions } from './options.js';

/**
 * The server side's TLS material: the certificate a sink serves (the user's, a generated test
 * certificate, or a faulty one on request) and the secure context built from it.
 */

/** A TLS fault to serve, to prove a client refuses a bad server. */
export type TlsFault = CertificateFault | 'handshake';

/** The key, certificate and CA (PEM) a sink serves: the user's `certificate`, or generated ones. */
export async function certificateFor(
  options: ResolvedOptions,
  fault: TlsFault | undefined,
): Promise<{ key: string; cert: string; ca: string }> {
  if (options.certificate !== undefined) {
    const c = options.certificate;
    return { key: c.key.toString(), cert: c.cert.toString(), ca: (c.ca ?? c.cert).toString() };
  }
  const certOptions = {
    hostnames: options.tlsHostnames,
    ...(options.tlsCacheDir ? { cacheDir: options.tlsCacheDir } : {}),
  };
  if (fault !== undefined && fault !== 'handshake') return faultCertificate(fault, certOptions);
  return testCertificate(certOptions);
}

/** Generated certificates are memoised objects: their parsed contexts are kept too, per minimum version. */
const generatedContexts = new WeakMap<object, Map<string, SecureContext>>();

/** The secure context of the material, parsed once per generated certificate and minimum version. */
export function secureContextFor(material: { key: string; cert: string }, options: ResolvedOptions): SecureContext {
  if (options.certificate === undefined) {
    // Parsing the key and certificate is most of what a TLS sink costs over a plain one once the
    // certificate exists; per-test sinks share one context instead.
    let byVersion = generatedContexts.get(material);
    if (byVersion === undefined) {
      byVersion = new Map();
      generatedContexts.set(material, byVersion);
    }
    let context = byVersion.get(options.minTlsVersion);
    if (context === undefined) {
      context = createSecureContext({ key: material.key, cert: material.cert, minVersion: options.minTlsVersion });
      byVersion.set(options.minTlsVersion, context);
    }
    return context;
  }
  try {
    return createSecureContext({ key: material.key, cert: material.cert, minVersion: options.minTlsVersion });
  } catch (error) {
    // OpenSSL's own words ("key values mismatch", "unsupported") do not say which input was wrong.
    throw new TypeError(
      `startSink: option "certificate" cannot be used: ${(error as Error).message}. Pass PEM text (or Buffers) ` +
        'of a private key and of the certificate it belongs to, leaf first, e.g. { key, cert, ca } from testCertificate().',
      { cause: error },
    );
  }
}
