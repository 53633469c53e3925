import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { replies } from '../protocol/replies.js';
import type { SaslCredentials, SaslExchange, SaslStep } from '../protocol/types.js';
import { behaviourReplies } from './replies.js';

/**
 * SASL (RFC 4422) as AUTH (RFC 4954) carries it: each mechanism's exchange, and its decoding, once.
 * The sink's users table and the `auth` hook both check what these decode.
 */

/** SASL mechanisms the sink speaks: PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), XOAUTH2 (Google's). */
export type AuthMechanism = 'PLAIN' | 'LOGIN' | 'CRAM-MD5' | 'XOAUTH2';

export const AUTH_MECHANISMS: readonly AuthMechanism[] = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'];

/**
 * Decodes a PLAIN response (RFC 4616 `authzid NUL authcid NUL passwd`, already base64-decoded).
 *
 * @example decodePlain('\0alice\0s3cret'); // { authzid: '', username: 'alice', password: 's3cret' }
 */
export function decodePlain(response: string): { authzid: string; username: string; password: string } | undefined {
  const parts = response.split('\0');
  if (parts.length !== 3) return undefined;
  const [authzid = '', username = '', password = ''] = parts;
  if (username === '' || hasControl(username) || hasControl(authzid)) return undefined;
  return { authzid, username, password };
}

/**
 * Decodes an XOAUTH2 response (`user=<user>^Aauth=Bearer <token>^A^A`, already base64-decoded).
 *
 * @example decodeXoauth2('user=alice\x01auth=Bearer t0k\x01\x01'); // { username: 'alice', accessToken: 't0k' }
 */
export function decodeXoauth2(response: string): { username: string; accessToken: string } | undefined {
  const fields = new Map<string, string>();
  for (const part of response.split('\x01')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).toLowerCase(), part.slice(eq + 1));
  }
  const username = fields.get('user') ?? '';
  const bearer = /^Bearer (.+)$/i.exec(fields.get('auth') ?? '');
  if (username === '' || bearer === null || hasControl(username)) return undefined;
  return { username, accessToken: bearer[1] as string };
}

/**
 * Decodes a CRAM-MD5 response (RFC 2195 `user digest`, already base64-decoded); the digest lower-cased.
 *
 * @example decodeCramMd5('alice 3dbc88f0624776a737b39093f6eb6427'); // { username: 'alice', digest: '3dbc…' }
 */
export function decodeCramMd5(response: string): { username: string; digest: string } | undefined {
  const m = /^(.+) ([0-9a-fA-F]{32})$/.exec(response);
  if (m === null || hasControl(m[1] as string)) return undefined;
  return { username: m[1] as string, digest: (m[2] as string).toLowerCase() };
}

/**
 * The digest a CRAM-MD5 client answers for `password` (RFC 2195: hex HMAC-MD5 of the challenge).
 *
 * @example cramMd5Digest('tanstaaftanstaaf', '<1896.697170952@postoffice.example.net>');
 */
export function cramMd5Digest(password: string, challenge: string): string {
  return createHmac('md5', password).update(challenge).digest('hex');
}

/**
 * A user name with a control character (CR, LF, NUL …) is refused as malformed: it would forge lines
 * wherever it is written (a log, a Received header).
 */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Compares two secrets in constant time (their SHA-256 digests, so lengths may differ). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** What the exchange asks of whoever checks credentials: true accepts them. */
export type CredentialCheck = (credentials: SaslCredentials) => boolean;

const failed: SaslStep = { reject: replies.authFailed };

/**
 * One AUTH exchange of `mechanism`; `check` decides the decoded credentials (the sink's users
 * table, or "accept all" when an `auth` hook decides later, at stage `auth`).
 *
 * @example const exchange = saslExchange('PLAIN', { hostname: 'mx.test', check: (c) => c.validatePassword('s3cret') });
 */
export function saslExchange(
  mechanism: string,
  settings: { hostname: string; check: CredentialCheck },
): SaslExchange | undefined {
  switch (mechanism as AuthMechanism) {
    case 'PLAIN':
      return plain(settings.check);
    case 'LOGIN':
      return login(settings.check);
    case 'CRAM-MD5':
      return cramMd5(settings.check, settings.hostname);
    case 'XOAUTH2':
      return xoauth2(settings.check);
    default:
      return undefined;
  }
}

function passwordCredentials(mechanism: string, username: string, password: string): SaslCredentials {
  return { mechanism, username, password, validatePassword: (candidate) => sameSecret(candidate, password) };
}

function finished(check: CredentialCheck, credentials: SaslCredentials): SaslStep {
  return check(credentials) ? { user: credentials.username, credentials } : failed;
}

/** RFC 4616: `authzid NUL authcid NUL passwd`, as the initial response or after an empty challenge. */
function plain(check: CredentialCheck): SaslExchange {
  return {
    respond(response) {
      if (response === null) return { challenge: '' };
      const decoded = decodePlain(response);
      if (decoded === undefined) return { reject: behaviourReplies.saslMalformed('PLAIN') };
      // Acting as another identity (authzid) is a privilege a test sink grants no one.
      if (decoded.authzid !== '' && decoded.authzid !== decoded.username) return failed;
      const credentials = passwordCredentials('PLAIN', decoded.username, decoded.password);
      if (decoded.authzid !== '') credentials.authzid = decoded.authzid;
      return finished(check, credentials);
    },
  };
}

/** The LOGIN mechanism (draft-murchison-sasl-login): user name, then password, each after a prompt. */
function login(check: CredentialCheck): SaslExchange {
  let user: string | undefined;
  return {
    respond(response) {
      if (response === null) return { challenge: behaviourReplies.loginUser };
      if (user === undefined) {
        if (response === '' || hasControl(response)) return { reject: behaviourReplies.saslMalformed('LOGIN') };
        user = response;
        return { challenge: behaviourReplies.loginPassword };
      }
      return finished(check, passwordCredentials('LOGIN', user, response));
    },
  };
}

/** RFC 2195: the server sends a unique challenge, the client answers `user HMAC-MD5(password, challenge)`. */
function cramMd5(check: CredentialCheck, hostname: string): SaslExchange {
  let challenge: string | undefined;
  return {
    respond(response) {
      if (challenge === undefined) {
        if (response !== null) return { reject: behaviourReplies.cramMd5Initial };
        challenge = `<${randomBytes(8).readBigUInt64BE()}.${Date.now()}@${hostname}>`;
        return { challenge };
      }
      const decoded = decodeCramMd5(response ?? '');
      if (decoded === undefined) return { reject: behaviourReplies.saslMalformed('CRAM-MD5') };
      const sent = challenge;
      return finished(check, {
        mechanism: 'CRAM-MD5',
        username: decoded.username,
        challenge: sent,
        challengeResponse: decoded.digest,
        validatePassword: (password) => sameSecret(cramMd5Digest(password, sent), decoded.digest),
      });
    },
  };
}

/**
 * Google's XOAUTH2: `user=<user>^Aauth=Bearer <token>^A^A`. A refused token gets a 334 with a JSON
 * error first; the client answers with an empty line and then gets `535 5.7.8`.
 */
function xoauth2(check: CredentialCheck): SaslExchange {
  let refused = false;
  return {
    respond(response) {
      if (refused) return failed;
      if (response === null) return { challenge: '' };
      const decoded = decodeXoauth2(response);
      if (decoded === undefined) return { reject: behaviourReplies.saslMalformed('XOAUTH2') };
      const credentials: SaslCredentials = {
        mechanism: 'XOAUTH2',
        username: decoded.username,
        accessToken: decoded.accessToken,
        validatePassword: (token) => sameSecret(token, decoded.accessToken),
      };
      if (check(credentials)) return { user: decoded.username, credentials };
      refused = true;
      return { challenge: JSON.stringify({ status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' }) };
    },
  };
}
