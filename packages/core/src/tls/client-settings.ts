import { createSecureContext, type SecureContext, type SecureVersion } from 'node:tls';

/** Settings a TLS client needs to verify a sink, ready for nodemailer's `tls` option or `tls.connect`. */
export interface ClientTlsSettings {
  /** PEM of the CA that signed the sink's certificate. */
  ca: string;
  /** Name to verify the certificate against (a SAN of it). */
  servername: string;
  /** Verification stays on: that is the point. */
  rejectUnauthorized: true;
  minVersion: SecureVersion;
  /** Highest TLS version offered, when one was asked for. */
  maxVersion?: SecureVersion;
  /**
   * A client context built from `ca`, `minVersion` and `maxVersion`, shared by every call with the
   * same settings. Building one costs about 0.5 ms of OpenSSL work per connection otherwise. Node
   * uses it instead of `ca` and the versions, so change those through `clientTls({ … })`, not by
   * spreading the result and overriding them.
   */
  secureContext: SecureContext;
}

/** TLS versions a client may ask `clientTls()` for, e.g. to prove that TLS 1.1 is refused. */
export interface ClientTlsOverrides {
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
}

const contexts = new Map<string, SecureContext>();
/** Contexts kept at most: one per CA and version pair in use; a test run needs a handful. */
const MAX_CONTEXTS = 32;

/**
 * The client settings for a sink's CA, with a cached client context.
 *
 * @example clientTlsSettings(sink.ca, 'localhost', 'TLSv1.2', { maxVersion: 'TLSv1.2' })
 */
export function clientTlsSettings(
  ca: string,
  servername: string,
  minVersion: SecureVersion,
  overrides: ClientTlsOverrides = {},
): ClientTlsSettings {
  const min = overrides.minVersion ?? minVersion;
  const max = overrides.maxVersion;
  const key = `${min}|${max ?? ''}|${ca}`;
  let secureContext = contexts.get(key);
  if (secureContext === undefined) {
    if (contexts.size >= MAX_CONTEXTS) contexts.clear();
    secureContext = createSecureContext({ ca, minVersion: min, ...(max === undefined ? {} : { maxVersion: max }) });
    contexts.set(key, secureContext);
  }
  const settings: ClientTlsSettings = { ca, servername, rejectUnauthorized: true, minVersion: min, secureContext };
  if (max !== undefined) settings.maxVersion = max;
  return settings;
}
