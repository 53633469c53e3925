import { Buffer } from 'node:buffer';

/**
 * The message header section (RFC 5322 §2.1, §2.2): where it ends, how it is collected from a
 * stream of chunks, and how it reads as names and values. Protocol knowledge, in one place: the
 * session collects it for behaviours, capture keeps it, behaviours and records read it.
 */

/** At most this many octets of a header section are kept (a longer one is cut there). */
export const HEADER_SECTION_LIMIT = 64 * 1024;

/** A header field name: printable US-ASCII except the colon (RFC 5322 §3.6.8). */
export const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * Octets of the header section up to and including its last line ending, or -1 when the empty
 * line that ends it is not in `data`. Lines may end in CRLF or a bare LF (RFC 5322 §2.1).
 */
export function headerSectionLength(data: Buffer): number {
  if (data[0] === 0x0a || (data[0] === 0x0d && data[1] === 0x0a)) return 0;
  const lf = data.indexOf('\n\n');
  const crlf = data.indexOf('\n\r\n');
  const end = lf < 0 ? crlf : crlf < 0 ? lf : Math.min(lf, crlf);
  return end < 0 ? -1 : end + 1;
}

/** The header section of a whole message: up to the empty line, or all of it without one. */
export function headerSectionOf(message: Buffer): Buffer {
  const end = headerSectionLength(message);
  return end < 0 ? message : message.subarray(0, end);
}

/** An empty line is a line ending right after a line ending: "\n\n" or "\n\r\n". */
function hasEmptyLine(data: Buffer): boolean {
  return data.includes('\n\n') || data.includes('\n\r\n');
}

/**
 * Keeps the header section of a message arriving in chunks (up to the first empty line), bounded
 * by `HEADER_SECTION_LIMIT`. Chunks may be views of reused socket buffers: they are copied.
 */
export class HeaderSectionCollector {
  private parts: Buffer[] = [];
  private length = 0;
  private finished = false;
  /** The last octets seen, so an empty line split across chunks still ends the collection. */
  private tail: Buffer = Buffer.alloc(0);

  /** Whether the end of the section (or the limit) was reached: further chunks are ignored. */
  get done(): boolean {
    return this.finished;
  }

  /** Octets collected so far. */
  get size(): number {
    return this.length;
  }

  add(chunk: Buffer): void {
    if (this.finished) return;
    const room = HEADER_SECTION_LIMIT - this.length;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length === 0) return;
    const first = this.length === 0;
    this.parts.push(Buffer.from(part));
    this.length += part.length;
    const seam = Buffer.concat([this.tail, part.subarray(0, 2)]);
    this.tail =
      part.length >= 2 ? Buffer.from(part.subarray(part.length - 2)) : seam.subarray(Math.max(0, seam.length - 2));
    const ended = (first && headerSectionLength(part) === 0) || hasEmptyLine(seam) || hasEmptyLine(part);
    if (ended || this.length >= HEADER_SECTION_LIMIT) this.finished = true;
  }

  /** The header section collected, without the empty line that ends it. */
  result(): Buffer {
    return headerSectionOf(Buffer.concat(this.parts, this.length));
  }
}

/** Unfolds a raw header section into lower-cased names and values (RFC 5322 §2.2.3). */
export function parseHeaderSection(raw: Buffer): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null);
  const text = raw.toString('utf8').replace(/\r?\n[ \t]/g, ' ');
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!HEADER_NAME.test(name)) continue;
    const value = line.slice(colon + 1).trim();
    const list = out[name];
    if (list === undefined) out[name] = [value];
    else list.push(value);
  }
  return out;
}

/**
 * Decodes RFC 2047 encoded words (`=?UTF-8?B?…?=`) in a header value, so a subject filter can
 * match what the sender wrote. Unknown charsets are left encoded.
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  // Whitespace between two adjacent encoded words is not part of the text (RFC 2047 §6.2).
  const joined = value.replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)/g, '$1');
  return joined.replace(
    /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=/g,
    (word, charset: string, encoding, text) => {
      try {
        const bytes =
          encoding.toUpperCase() === 'B'
            ? Buffer.from(text, 'base64')
            : Buffer.from(
                text
                  .replace(/_/g, ' ')
                  .replace(/=([0-9A-Fa-f]{2})/g, (_: string, hex: string) =>
                    String.fromCharCode(Number.parseInt(hex, 16)),
                  ),
                'latin1',
              );
        return new TextDecoder(charset.toLowerCase()).decode(bytes);
      } catch {
        return word;
      }
    },
  );
}
