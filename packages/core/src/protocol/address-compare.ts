import { domainToASCII, domainToUnicode } from 'node:url';

/**
 * How mailhole compares addresses (DESIGN: "Domains compare in one normal form"): the domain in
 * its IDNA ASCII form, lower case (`例子.test` and `XN--FSQU00A.test` are both `xn--fsqu00a.test`),
 * the local part exactly as sent (RFC 5321 §2.4: only the receiving host may interpret it).
 * nodemailer, for one, sends `user@例子.test` as `user@xn--fsqu00a.test`, so a test that names the
 * Unicode spelling must still find the mail.
 */

// ASCII domains (nearly all) never reach the IDNA mapping: lower-casing is all they need.
const NON_ASCII = /[\u0080-\u{10ffff}]/u;

/** One domain in IDNA ASCII form, lower case; an address literal (`[192.0.2.1]`) lower-cased as it is. */
export function normalizeDomain(domain: string): string {
  if (!NON_ASCII.test(domain) || domain.startsWith('[')) return domain.toLowerCase();
  const ascii = domainToASCII(domain);
  // Not a valid IDN (domainToASCII answers ''): label by label, so a glob's `*` survives too.
  if (ascii !== '') return ascii;
  return domain
    .split('.')
    .map((label) => (NON_ASCII.test(label) ? domainToASCII(label) || label.toLowerCase() : label.toLowerCase()))
    .join('.');
}

/**
 * An address in the form mailhole compares: local part as sent, domain normalised.
 *
 * @example normalizeAddress('Ada@例子.TEST') === 'Ada@xn--fsqu00a.test'
 */
export function normalizeAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  return `${address.slice(0, at + 1)}${normalizeDomain(address.slice(at + 1))}`;
}

/** True when two addresses name the same mailbox: same local part, same domain in normal form. */
export function sameAddress(a: string, b: string): boolean {
  return a === b || normalizeAddress(a) === normalizeAddress(b);
}

/**
 * The spellings a user-written RegExp may expect: as sent, with an ASCII (`xn--`) domain and with
 * a Unicode domain. A pattern matches an address when it matches any of them.
 */
export function addressSpellings(address: string): string[] {
  const at = address.lastIndexOf('@');
  if (at < 0) return [address];
  const domain = address.slice(at + 1);
  const local = address.slice(0, at + 1);
  const ascii = `${local}${normalizeDomain(domain)}`;
  const spellings = new Set([address, ascii]);
  if (ascii.includes('xn--')) spellings.add(`${local}${domainToUnicode(normalizeDomain(domain))}`);
  return [...spellings];
}
