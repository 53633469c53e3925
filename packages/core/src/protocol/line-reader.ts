const LF = 0x0a;
const CR = 0x0d;

/** A command line, or the news that one was too long and was thrown away. */
export type LineResult = { line: Buffer; next: number; octets: number } | { tooLong: true; next: number } | undefined;

/**
 * Reads command lines (RFC 5321 §2.3.8) out of arbitrarily split chunks. Holds at most
 * `limit` octets of an unfinished line: past that the line is discarded up to its end and
 * reported once as too long, so no client can make it buffer without bound.
 */
export class CommandLineReader {
  private pending: Buffer | undefined;
  private overflowing = false;

  /** Longest line in octets, CRLF included; the session raises it during AUTH. */
  constructor(public limit: number) {}

  /** True while part of a line waits for its end. */
  get hasPartialLine(): boolean {
    return this.pending !== undefined || this.overflowing;
  }

  /**
   * The next complete line at or after `pos` without its line ending, or `undefined` when the
   * chunk ends first (the partial line is kept for the next call).
   */
  next(chunk: Buffer, pos: number): LineResult {
    const lf = chunk.indexOf(LF, pos);
    if (lf < 0) {
      this.keep(chunk, pos, chunk.length);
      return undefined;
    }
    if (this.overflowing) {
      this.overflowing = false;
      return { tooLong: true, next: lf + 1 };
    }
    const pending = this.pending;
    this.pending = undefined;
    // The limit counts the CRLF, as RFC 5321 §4.5.3.1.4 does; checked before joining, so an
    // over-long line is never copied.
    const octets = (pending?.length ?? 0) + (lf - pos) + 1;
    if (octets > this.limit) return { tooLong: true, next: lf + 1 };
    let line = pending === undefined ? chunk.subarray(pos, lf) : Buffer.concat([pending, chunk.subarray(pos, lf)]);
    // Clients that end commands with a bare LF are tolerated (every MTA does); the CR is not part of the line.
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    return { line, next: lf + 1, octets };
  }

  /** Forgets any partial line (after STARTTLS, nothing sent in plaintext may survive). */
  clear(): void {
    this.pending = undefined;
    this.overflowing = false;
  }

  private keep(chunk: Buffer, from: number, to: number): void {
    if (this.overflowing || from === to) return;
    const have = this.pending?.length ?? 0;
    if (have + (to - from) >= this.limit) {
      this.pending = undefined;
      this.overflowing = true;
      return;
    }
    // Copy: the socket's chunk must not be pinned by a few bytes of a partial line.
    this.pending =
      this.pending === undefined
        ? Buffer.from(chunk.subarray(from, to))
        : Buffer.concat([this.pending, chunk.subarray(from, to)]);
  }
}
