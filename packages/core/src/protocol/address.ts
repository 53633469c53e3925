/**
 * RFC 5321 §4.1.2 paths and mailboxes, with RFC 6531 UTF-8 when the transaction allows it.
 * Works on the decoded command text; the caller has already refused NUL and control bytes.
 */

export interface ParsedPath {
  /** The mailbox as `local@domain`, `''` for the null reverse-path `<>`, or `postmaster` alone. */
  address: string;
  /** Text after the path (the ESMTP parameters), without leading spaces. */
  rest: string;
}

export type PathResult = { ok: true; path: ParsedPath } | { ok: false; reason: string; utf8?: boolean };

const MAX_LOCAL = 64;
const MAX_DOMAIN = 255;
const MAX_PATH = 256;

// atext (RFC 5322 §3.2.3): ALPHA / DIGIT / "!#$%&'*+-/=?^_`{|}~"
const ATEXT = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~") {
  ATEXT[c.charCodeAt(0)] = 1;
}

const isNonAscii = (code: number): boolean => code > 0x7f;

/**
 * Parses `<path> params` as given after `MAIL FROM:` or `RCPT TO:`.
 * `nullAllowed` permits `<>`; `utf8` permits non-ASCII (SMTPUTF8 was given on MAIL FROM).
 */
export function parsePath(text: string, options: { nullAllowed: boolean; utf8: boolean }): PathResult {
  // Clients commonly send `MAIL FROM: <a@b>`; RFC 5321 has no space there, but every MTA accepts it.
  let i = 0;
  while (text.charCodeAt(i) === 0x20) i++;
  if (text.charCodeAt(i) !== 0x3c /* < */) {
    return { ok: false, reason: 'the address must be enclosed in <>' };
  }
  const start = i + 1;
  if (text.charCodeAt(start) === 0x3e /* > */) {
    if (!options.nullAllowed) return { ok: false, reason: 'the null path <> is only allowed as a sender' };
    return { ok: true, path: { address: '', rest: restAfter(text, start + 1) } };
  }

  let p = start;
  // Source routes (`<@a,@b:user@c>`) must be accepted and ignored (RFC 5321 §4.1.2, Appendix C).
  if (text.charCodeAt(p) === 0x40 /* @ */) {
    const colon = text.indexOf(':', p);
    if (colon < 0) return { ok: false, reason: 'source route without ":"' };
    for (const hop of text.slice(p, colon).split(',')) {
      if (hop[0] !== '@' || !isDomain(hop.slice(1), options.utf8)) {
        return { ok: false, reason: `bad source route "${hop}"` };
      }
    }
    p = colon + 1;
  }

  const local = scanLocalPart(text, p, options.utf8);
  if (typeof local === 'string') return failure(local, text, p, options.utf8);
  p = local.end;
  const localPart = text.slice(local.start, p);

  if (text.charCodeAt(p) === 0x3e /* > */) {
    // RFC 5321 §4.5.1: "Postmaster" without a domain must be accepted as a recipient.
    if (!options.nullAllowed && localPart.toLowerCase() === 'postmaster') {
      return { ok: true, path: { address: localPart, rest: restAfter(text, p + 1) } };
    }
    return { ok: false, reason: 'missing "@domain"' };
  }
  if (text.charCodeAt(p) !== 0x40 /* @ */) {
    return failure('unexpected character in the local part', text, p, options.utf8);
  }
  p++;

  const end = text.indexOf('>', p);
  if (end < 0) return { ok: false, reason: 'missing closing ">"' };
  const domain = text.slice(p, end);
  if (domain.startsWith('[')) {
    if (!isAddressLiteral(domain)) return { ok: false, reason: `bad address literal "${domain}"` };
  } else if (!isDomain(domain, options.utf8)) {
    return failure(`bad domain "${domain}"`, domain, 0, options.utf8);
  }
  if (!fitsOctets(localPart, MAX_LOCAL)) return { ok: false, reason: `local part longer than ${MAX_LOCAL} octets` };
  if (!fitsOctets(domain, MAX_DOMAIN)) return { ok: false, reason: `domain longer than ${MAX_DOMAIN} octets` };
  const address = `${localPart}@${domain}`;
  if (!fitsOctets(address, MAX_PATH - 2)) return { ok: false, reason: `path longer than ${MAX_PATH} octets` };
  return { ok: true, path: { address, rest: restAfter(text, end + 1) } };
}

function failure(reason: string, text: string, from: number, utf8: boolean): PathResult {
  // Tell "UTF-8 without SMTPUTF8" apart from plain bad syntax: RFC 6531 gives it its own reply.
  if (!utf8) {
    for (let k = from; k < text.length; k++) {
      if (isNonAscii(text.charCodeAt(k))) return { ok: false, reason, utf8: true };
    }
  }
  return { ok: false, reason };
}

function scanLocalPart(text: string, p: number, utf8: boolean): { start: number; end: number } | string {
  const start = p;
  if (text.charCodeAt(p) === 0x22 /* " */) {
    p++;
    for (;;) {
      const c = text.charCodeAt(p);
      if (Number.isNaN(c)) return 'unterminated quoted local part';
      if (c === 0x22) return { start, end: p + 1 };
      if (c === 0x5c /* \ */) {
        const next = text.charCodeAt(p + 1);
        if (!(next >= 0x20 && next <= 0x7e) && !(utf8 && isNonAscii(next))) return 'bad quoted pair';
        p += 2;
        continue;
      }
      // qtextSMTP: %d32-33 / %d35-91 / %d93-126, plus UTF-8 with SMTPUTF8.
      if ((c >= 0x20 && c <= 0x7e) || (utf8 && isNonAscii(c))) {
        p++;
        continue;
      }
      return 'bad character in quoted local part';
    }
  }
  // Dot-string: atoms separated by single dots, no leading or trailing dot.
  let atomLength = 0;
  for (;;) {
    const c = text.charCodeAt(p);
    if (c < 128 ? ATEXT[c] === 1 : utf8 && !Number.isNaN(c)) {
      atomLength++;
      p++;
    } else if (c === 0x2e /* . */ && atomLength > 0) {
      atomLength = 0;
      p++;
    } else break;
  }
  if (p === start) return text.charCodeAt(p) === 0x2e ? 'local part starts with a dot' : 'empty local part';
  if (atomLength === 0) return 'local part ends with a dot or has two dots in a row';
  return { start, end: p };
}

/** RFC 5321 Domain; with SMTPUTF8, U-labels (non-ASCII letters) are allowed too (RFC 6531 §3.3). */
export function isDomain(domain: string, utf8: boolean): boolean {
  if (domain.length === 0) return false;
  // One pass over the labels in place (every MAIL and RCPT comes through here).
  let start = 0;
  for (;;) {
    let end = domain.indexOf('.', start);
    if (end < 0) end = domain.length;
    const length = end - start;
    if (length === 0 || length > 63) return false;
    for (let k = start; k < end; k++) {
      const c = domain.charCodeAt(k);
      const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
      if (alnum || (utf8 && isNonAscii(c))) continue;
      if (c === 0x2d /* - */ && k > start && k < end - 1) continue;
      return false;
    }
    if (end === domain.length) return true;
    start = end + 1;
  }
}

/** `[192.0.2.1]`, `[IPv6:2001:db8::1]` or a general literal `[tag:content]` (RFC 5321 §4.1.3). */
export function isAddressLiteral(literal: string): boolean {
  if (!literal.startsWith('[') || !literal.endsWith(']')) return false;
  const inner = literal.slice(1, -1);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(inner)) return inner.split('.').every((n) => Number(n) <= 255);
  const colon = inner.indexOf(':');
  if (colon <= 0) return false;
  const tag = inner.slice(0, colon);
  const content = inner.slice(colon + 1);
  if (tag.toLowerCase() === 'ipv6') return isIPv6(content);
  // General-address-literal: Standardized-tag ":" 1*dcontent, dcontent = %d33-90 / %d94-126.
  return /^[A-Za-z0-9-]*[A-Za-z0-9]$/.test(tag) && /^[\x21-\x5a\x5e-\x7e]+$/.test(content);
}

function isIPv6(text: string): boolean {
  let body = text;
  let groupsNeeded = 8;
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(tail) || !tail.split('.').every((n) => Number(n) <= 255)) return false;
    body = `${body.slice(0, lastColon + 1)}0:0`;
    groupsNeeded = 8;
  }
  const halves = body.split('::');
  if (halves.length > 2) return false;
  const group = /^[0-9A-Fa-f]{1,4}$/;
  const parts = halves.map((h) => (h === '' ? [] : h.split(':')));
  if (!parts.every((groups) => groups.every((g) => group.test(g)))) return false;
  const count = parts.reduce((n, groups) => n + groups.length, 0);
  return halves.length === 2 ? count < groupsNeeded : count === groupsNeeded;
}

function restAfter(text: string, from: number): string {
  let i = from;
  while (text.charCodeAt(i) === 0x20) i++;
  return text.slice(i);
}

/** True when `text` takes at most `max` octets in UTF-8. */
function fitsOctets(text: string, max: number): boolean {
  // A UTF-16 unit is at most 3 UTF-8 octets: short text fits without counting (every MAIL and RCPT comes here).
  return text.length * 3 <= max || Buffer.byteLength(text, 'utf8') <= max;
}

export interface EsmtpParameter {
  /** Upper-cased keyword, e.g. `SIZE`. */
  name: string;
  /** Value after `=`, or `undefined` for a bare keyword such as `SMTPUTF8`. */
  value: string | undefined;
}

/** Splits `KEY=VALUE KEY2` (RFC 5321 §4.1.2 Mail-parameters); returns a reason string on bad syntax. */
export function parseParameters(rest: string): EsmtpParameter[] | string {
  const out: EsmtpParameter[] = [];
  if (rest.length === 0) return out;
  for (const token of rest.split(' ')) {
    if (token === '') continue;
    const eq = token.indexOf('=');
    const name = (eq < 0 ? token : token.slice(0, eq)).toUpperCase();
    if (!/^[A-Z0-9][A-Z0-9-]*$/.test(name)) return `bad parameter "${token.slice(0, 32)}"`;
    const value = eq < 0 ? undefined : token.slice(eq + 1);
    if (value !== undefined && (value.length === 0 || value.includes('='))) {
      return `bad value for parameter ${name}`;
    }
    if (out.some((p) => p.name === name)) return `parameter ${name} given twice`;
    out.push({ name, value });
  }
  return out;
}

/** xtext (RFC 3461 §4): printable ASCII except `+` and `=`, with `+XX` hex escapes. */
export function isXtext(value: string): boolean {
  return /^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})+$/.test(value);
}
