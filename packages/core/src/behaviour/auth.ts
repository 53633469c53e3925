import { randomBytes } from 'node:crypto';
import type { AuthProvider, SaslCredentials, SaslExchange } from '../protocol/types.js';
import { type AuthMechanism, saslExchange } from './sasl.js';

export { AUTH_MECHANISMS, type AuthMechanism } from './sasl.js';

/**
 * AUTH (RFC 4954) as the sink offers it. Without `users` any user name and password are
 * accepted; with it, only those pairs (compared in constant time), others get `535 5.7.8`.
 *
 * @example startSink({ auth: { users: { alice: 's3cret' } }, requireAuth: true });
 */
export interface AuthOptions {
  /** User names and their passwords (for XOAUTH2: the bearer token). */
  users?: Readonly<Record<string, string>>;
  /** Mechanisms to offer, in this order. Default: PLAIN, LOGIN, CRAM-MD5, XOAUTH2. */
  mechanisms?: readonly AuthMechanism[];
  /** Refuse AUTH with `538 5.7.11` until TLS is on (STARTTLS or the implicit-TLS listener). */
  requireTls?: boolean;
}

/** What the provider needs besides the options. */
export interface AuthSettings {
  users: ReadonlyMap<string, string> | undefined;
  mechanisms: readonly AuthMechanism[];
  /** MAIL before AUTH gets `530 5.7.0` (option `requireAuth`). */
  required: boolean;
  requireTls: boolean;
  /** Host name in CRAM-MD5 challenges. */
  hostname: string;
}

/**
 * The sink's AUTH policy: runs each mechanism's exchange and checks credentials. Credentials
 * never leave it: the session learns the user name, and only that is recorded.
 */
export function createAuthProvider(settings: AuthSettings): AuthProvider {
  const credentials = new Credentials(settings.users);
  // Without users any credentials pass here; an auth hook then judges them at stage auth.
  const check = (c: SaslCredentials): boolean => credentials.check(c);
  const offered = new Set<string>(settings.mechanisms);
  return {
    mechanisms: settings.mechanisms,
    required: settings.required,
    requireTls: settings.requireTls,
    begin(mechanism: string): SaslExchange | undefined {
      if (!offered.has(mechanism)) return undefined;
      return saslExchange(mechanism, { hostname: settings.hostname, check });
    },
  };
}

/**
 * The users table. Comparisons run on SHA-256 digests (equal length, so `timingSafeEqual`
 * applies) and an unknown user costs the same as a wrong password.
 */
class Credentials {
  private readonly dummy = randomBytes(32).toString('hex');

  constructor(private readonly users: ReadonlyMap<string, string> | undefined) {}

  check(credentials: SaslCredentials): boolean {
    if (this.users === undefined) return true;
    const expected = this.users.get(credentials.username);
    const same = credentials.validatePassword(expected ?? this.dummy);
    return same && expected !== undefined;
  }
}
