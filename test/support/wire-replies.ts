/** One complete SMTP reply as read off the wire. */
export interface WireReply {
  code: number;
  /** Every line of the reply, CRLF stripped, e.g. `['250-localhost greets x', '250 SIZE 1000']`. */
  lines: string[];
  /** The last line (`250 2.0.0 OK`), the one with the code and a space. */
  last: string;
}

/**
 * Collects whole SMTP replies from the bytes a raw client reads and hands them out one at a time,
 * each wait bounded, so the raw clients (plain and STARTTLS) read replies the same way.
 *
 * @example socket.on('data', (chunk) => replies.push(chunk.toString('latin1'))); const r = await replies.next();
 */
export class WireReplies {
  /** Bytes not yet part of a whole reply (latin1, so every octet survives). */
  private text = '';
  private replies: WireReply[] = [];
  private wake: (() => void) | undefined;
  private isClosed = false;

  /** Adds bytes read off the socket. */
  push(chunk: string): void {
    this.text += chunk;
    this.parse();
    this.wake?.();
  }

  /** The connection closed: a waiting `next` fails at once instead of waiting out its timeout. */
  close(): void {
    this.isClosed = true;
    this.wake?.();
  }

  /** True once `close` was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** The next reply, or a rejection naming what was read if none comes within `timeout` ms. */
  async next(timeout = 5000): Promise<WireReply> {
    const deadline = Date.now() + timeout;
    while (this.replies.length === 0) {
      if (this.isClosed) throw new Error(`connection closed before a reply; unparsed: ${JSON.stringify(this.text)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeout} ms; unparsed: ${JSON.stringify(this.text)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.replies.shift() as WireReply;
  }

  /** Replies received but not read yet, and any partial reply: what arrived unasked. */
  unread(): string {
    return [...this.replies.map((r) => r.lines.join('\r\n')), this.text].join('\r\n');
  }

  private parse(): void {
    let start = 0;
    let current: string[] = [];
    for (;;) {
      const eol = this.text.indexOf('\r\n', start);
      if (eol < 0) break;
      const line = this.text.slice(start, eol);
      start = eol + 2;
      current.push(line);
      if (!/^\d{3}-/.test(line)) {
        this.replies.push({ code: Number.parseInt(line.slice(0, 3), 10), lines: current, last: line });
        current = [];
        // Lines of an unfinished multiline reply stay in `text`, so `unread` still shows them.
        this.text = this.text.slice(start);
        start = 0;
      }
    }
  }
}
