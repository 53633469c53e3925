/**
 * An SMTP reply as data: the basic code (RFC 5321 §4.2), the enhanced status code
 * (RFC 3463, advertised with ENHANCEDSTATUSCODES, RFC 2034) and human-readable text.
 * Multi-line replies carry one text line per entry.
 *
 * @example const r: Reply = { code: 250, enhanced: '2.0.0', text: 'OK' };
 */
export interface Reply {
  readonly code: number;
  /** `class.subject.detail`, e.g. `5.7.0`. Omitted only for the greeting and the EHLO keyword list, where RFC 2034 puts none. */
  readonly enhanced?: string | undefined;
  readonly text: string | readonly string[];
}

const wireCache = new WeakMap<Reply, Buffer>();

/** Bytes of a reply on the wire, cached per reply object so constant replies cost one lookup. */
export function encodeReply(reply: Reply): Buffer {
  let wire = wireCache.get(reply);
  if (wire === undefined) {
    wire = Buffer.from(formatReply(reply), 'utf8');
    wireCache.set(reply, wire);
  }
  return wire;
}

/** The reply as the text a client sees, CRLF-terminated lines. */
export function formatReply(reply: Reply): string {
  const prefix = reply.enhanced ? `${reply.enhanced} ` : '';
  // One line is the common case, and a per-message one (the 250 with the delivery id): no array, no regex.
  if (typeof reply.text === 'string') return `${reply.code} ${prefix}${oneLine(reply.text)}\r\n`;
  const lines = reply.text.length > 0 ? reply.text : [''];
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const sep = i === lines.length - 1 ? ' ' : '-';
    out += `${reply.code}${sep}${prefix}${oneLine(String(lines[i]))}\r\n`;
  }
  return out;
}

/** A reply line must never carry its own line break: it would let text forge a second reply. */
function oneLine(text: string): string {
  return text.includes('\r') || text.includes('\n') ? text.replace(/[\r\n]+/g, ' ') : text;
}

/** One line for logs and error messages, e.g. `550 5.7.1 Relaying denied`. */
export function replyToString(reply: Reply): string {
  const first = typeof reply.text === 'string' ? reply.text : (reply.text[0] ?? '');
  return `${reply.code}${reply.enhanced ? ` ${reply.enhanced}` : ''} ${first}`;
}

/** Enhanced status codes already checked for their form (a handful: the engine's, a policy's). */
const wellFormedEnhanced = new Set<string>();

/** Builds a reply, checking the code and the enhanced code agree with each other. */
export function reply(code: number, enhanced: string | undefined, text: string | readonly string[]): Reply {
  if (!Number.isInteger(code) || code < 200 || code > 599) {
    throw new RangeError(`SMTP reply code must be a whole number from 200 to 599, got ${code}`);
  }
  if (enhanced !== undefined) {
    // Replies made per message (the 250 with the delivery id) come back with the same few codes: each is parsed once.
    if (!wellFormedEnhanced.has(enhanced)) {
      if (!/^[245]\.\d{1,3}\.\d{1,3}$/.test(enhanced)) {
        throw new RangeError(`enhanced status code must look like "5.7.1", got "${enhanced}"`);
      }
      if (wellFormedEnhanced.size < 256) wellFormedEnhanced.add(enhanced);
    }
    if (enhanced.charCodeAt(0) - 48 !== Math.floor(code / 100)) {
      throw new RangeError(`enhanced status code ${enhanced} has a different class than reply code ${code}`);
    }
  }
  return Object.freeze({ code, enhanced, text: typeof text === 'string' ? text : Object.freeze([...text]) });
}

/** True when the code is 2xx (success). */
export const isPositive = (r: Reply): boolean => r.code >= 200 && r.code < 300;
