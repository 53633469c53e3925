import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { replies } from '../protocol/replies.js';
import type { AuthProvider, SaslExchange, SaslStep } from '../protocol/types.js';
import { behaviourReplies } from './replies.js';

/** SASL mechanisms the sink offers: PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), XOAUTH2 (Google's). */
export type AuthMechanism = 'PLAIN' | 'LOGIN' | 'CRAM-MD5' | 'XOAUTH2';

export const AUTH_MECHANISMS: readonly AuthMechanism[] = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'];

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
  const offered = new Set<string>(settings.mechanisms);
  return {
    mechanisms: settings.mechanisms,
    required: settings.required,
    requireTls: settings.requireTls,
    begin(mechanism: string): SaslExchange | undefined {
      if (!offered.has(mechanism)) return undefined;
      switch (mechanism as AuthMechanism) {
        case 'PLAIN':
          return plain(credentials);
        case 'LOGIN':
          return login(credentials);
        case 'CRAM-MD5':
          return cramMd5(credentials, settings.hostname);
        case 'XOAUTH2':
          return xoauth2(credentials);
        default:
          return undefined;
      }
    },
  };
}

const failed: SaslStep = { reject: replies.authFailed };

/** RFC 4616: `authzid NUL authcid NUL passwd`, as the initial response or after an empty challenge. */
function plain(credentials: Credentials): SaslExchange {
  return {
    respond(response) {
      if (response === null) return { challenge: '' };
      const parts = response.split('\0');
      if (parts.length !== 3) return { reject: behaviourReplies.saslMalformed('PLAIN') };
      const [authzid = '', user = '', password = ''] = parts;
      if (user === '') return { reject: behaviourReplies.saslMalformed('PLAIN') };
      // Acting as another identity (authzid) is a privilege a test sink grants no one.
      if (authzid !== '' && authzid !== user) return failed;
      return credentials.check(user, password) ? { user } : failed;
    },
  };
}

/** The LOGIN mechanism (draft-murchison-sasl-login): user name, then password, each after a prompt. */
function login(credentials: Credentials): SaslExchange {
  let user: string | undefined;
  return {
    respond(response) {
      if (response === null) return { challenge: behaviourReplies.loginUser };
      if (user === undefined) {
        if (response === '') return { reject: behaviourReplies.saslMalformed('LOGIN') };
        user = response;
        return { challenge: behaviourReplies.loginPassword };
      }
      return credentials.check(user, response) ? { user } : failed;
    },
  };
}

/** RFC 2195: the server sends a unique challenge, the client answers `user HMAC-MD5(password, challenge)`. */
function cramMd5(credentials: Credentials, hostname: string): SaslExchange {
  let challenge: string | undefined;
  return {
    respond(response) {
      if (challenge === undefined) {
        if (response !== null) return { reject: behaviourReplies.cramMd5Initial };
        challenge = `<${randomBytes(8).readBigUInt64BE()}.${Date.now()}@${hostname}>`;
        return { challenge };
      }
      const m = /^(.+) ([0-9a-fA-F]{32})$/.exec(response ?? '');
      if (m === null) return { reject: behaviourReplies.saslMalformed('CRAM-MD5') };
      const user = m[1] as string;
      return credentials.checkCramMd5(user, challenge, (m[2] as string).toLowerCase()) ? { user } : failed;
    },
  };
}

/**
 * Google's XOAUTH2: `user=<user>^Aauth=Bearer <token>^A^A`. A refused token gets a 334 with a JSON
 * error first; the client answers with an empty line and then gets `535 5.7.8`.
 */
function xoauth2(credentials: Credentials): SaslExchange {
  let refused = false;
  return {
    respond(response) {
      if (refused) return failed;
      if (response === null) return { challenge: '' };
      const fields = new Map<string, string>();
      for (const part of response.split('\x01')) {
        const eq = part.indexOf('=');
        if (eq > 0) fields.set(part.slice(0, eq).toLowerCase(), part.slice(eq + 1));
      }
      const user = fields.get('user') ?? '';
      const bearer = /^Bearer (.+)$/i.exec(fields.get('auth') ?? '');
      if (user === '' || bearer === null) return { reject: behaviourReplies.saslMalformed('XOAUTH2') };
      if (credentials.check(user, bearer[1] as string)) return { user };
      refused = true;
      return { challenge: JSON.stringify({ status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' }) };
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

  check(user: string, secret: string): boolean {
    if (this.users === undefined) return true;
    const expected = this.users.get(user);
    const same = equal(secret, expected ?? this.dummy);
    return same && expected !== undefined;
  }

  checkCramMd5(user: string, challenge: string, digest: string): boolean {
    if (this.users === undefined) return true;
    const expected = this.users.get(user);
    const wanted = createHmac('md5', expected ?? this.dummy)
      .update(challenge)
      .digest('hex');
    const same = equal(digest, wanted);
    return same && expected !== undefined;
  }
}

function equal(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
