import type { Buffer } from 'node:buffer';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { HttpError } from './api-http.js';

// Who may call the control API: a loopback API answers only requests addressed to this machine,
// a browser page on another origin is refused, and with a token every request must carry it.

/** What the guard checks against: the bound host, and the token's digest when there is one. */
export interface RequestGuard {
  readonly host: string;
  readonly loopback: boolean;
  readonly tokenDigest: Buffer | undefined;
}

/**
 * Throws an `HttpError` (403) when the request comes from a foreign site: a Host name that is not
 * loopback's on a loopback API, or a browser page on another origin. Checked before anything is served.
 */
export function guardSite(req: IncomingMessage, guard: RequestGuard): void {
  if (guard.loopback && !hostHeaderIsLoopback(req.headers.host, guard.host)) {
    throw new HttpError(
      403,
      `Host header ${JSON.stringify(req.headers.host)} is not a loopback name: the API answers only requests addressed to this machine`,
    );
  }
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  if (
    (origin !== undefined && origin !== `http://${req.headers.host}`) ||
    site === 'cross-site' ||
    site === 'same-site'
  ) {
    throw new HttpError(
      403,
      `cross-origin requests are refused (Origin ${origin ?? site}): call the API from a test or a script, not from a web page`,
    );
  }
}

/** Throws an `HttpError` (401) when the API has a token and the request does not carry it. */
export function guardToken(req: IncomingMessage, guard: RequestGuard): void {
  if (guard.tokenDigest !== undefined) {
    const header = req.headers.authorization;
    // The scheme is case-insensitive (RFC 9110 §11.1): "bearer", "BEARER" and "Bearer" are one.
    const scheme = header === undefined ? undefined : /^bearer[ \t]+(.+)$/i.exec(header);
    const given = scheme?.[1]?.trim();
    const challenge = { 'WWW-Authenticate': 'Bearer realm="mailhole"' };
    if (given === undefined) {
      throw new HttpError(
        401,
        'this API needs a token: send "Authorization: Bearer <token>" (connectSink(url, { token }))',
        challenge,
      );
    }
    if (!timingSafeEqual(digest(given), guard.tokenDigest))
      throw new HttpError(
        401,
        'the bearer token is wrong: send the token the sink was started with (api.token, --token or MAILHOLE_API_TOKEN)',
        challenge,
      );
  }
}

export function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** `host` is a loopback address or name: an API bound there is private to this machine. */
export function isLoopback(host: string): boolean {
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  return host === 'localhost' || host === '::1' || (isIP(v4) === 4 && v4.startsWith('127.'));
}

/** A DNS-rebinding page reaches a loopback API under a foreign Host name: only loopback names pass. */
function hostHeaderIsLoopback(header: string | undefined, bound: string): boolean {
  if (header === undefined) return true;
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(header);
  if (m === null) return false;
  const name = (m[1] as string).replace(/^\[|\]$/g, '').toLowerCase();
  return name === bound || isLoopback(name) || name.endsWith('.localhost');
}
