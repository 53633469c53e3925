import { connect, type Socket } from 'node:net';
import { WireReplies, type WireReply } from './wire-replies.js';
import { within } from './within.js';

export type { WireReply } from './wire-replies.js';

/**
 * A raw SMTP client over a real socket, for tests that need exact bytes on the wire: it writes
 * what it is told (no dot-stuffing, no CRLF added) and reads whole replies, each wait bounded.
 *
 * @example const wire = await WireClient.open(sink.port); await wire.expect(220); wire.write('EHLO x\r\n');
 */
export class WireClient {
  private readonly replies = new WireReplies();
  /** Resolves once the server (or we) closed the connection. */
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.replies.push(chunk));
    socket.on('error', () => {
      // A reset by the server is something a test asserts through `closed`, not an exception.
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.replies.close();
        resolve();
      }),
    );
  }

  /** Connects to `host:port`; rejects if the connection fails. */
  static open(port: number, host = '127.0.0.1'): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host });
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new WireClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** True once the connection is closed. */
  get ended(): boolean {
    return this.replies.closed;
  }

  /** Writes raw bytes exactly as given. */
  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** The next reply, or a rejection naming what was read if none comes within `timeout` ms. */
  reply(timeout = 5000): Promise<WireReply> {
    return this.replies.next(timeout);
  }

  /** Reads replies until one with `code` arrives (returning it); fails on timeout or close. */
  async expect(code: number, timeout = 5000): Promise<WireReply> {
    const deadline = Date.now() + timeout;
    const seen: string[] = [];
    for (;;) {
      let next: WireReply;
      try {
        next = await this.reply(Math.max(1, deadline - Date.now()));
      } catch (error) {
        throw new Error(`expected a ${code} reply, got ${JSON.stringify(seen)}: ${(error as Error).message}`);
      }
      if (next.code === code) return next;
      seen.push(next.last);
    }
  }

  /** Writes `line` plus CRLF and returns the next reply. */
  async command(line: string, timeout = 5000): Promise<WireReply> {
    this.write(`${line}\r\n`);
    return this.reply(timeout);
  }

  /** Resolves when the server closes the connection; fails after `timeout` ms. */
  async waitClosed(timeout = 5000): Promise<void> {
    await within(this.closed, timeout, 'the server closing the connection');
  }

  /** Destroys the socket (idempotent). */
  destroy(): void {
    this.socket.destroy();
  }
}

/** What `transaction` sends: an envelope and the message exactly as it should go after DATA. */
export interface WireMessage {
  from: string;
  to: string[];
  /** Message text, already dot-stuffed, ending in CRLF; `.\r\n` is appended. */
  data: string | Buffer;
  /** Extra MAIL FROM parameters, e.g. `SIZE=1000`. */
  mailParameters?: string;
}

/** Replies of one transaction, step by step; stops at the first refused step that ends it. */
export interface WireTransaction {
  mail: WireReply;
  recipients: WireReply[];
  data?: WireReply;
  final?: WireReply;
}

/**
 * Runs one mail transaction on a greeted connection (EHLO already done), one command at a time.
 *
 * @example const t = await transaction(wire, { from: 'a@x.test', to: ['b@x.test'], data: 'Subject: x\r\n\r\nhi\r\n' });
 */
export async function transaction(wire: WireClient, message: WireMessage): Promise<WireTransaction> {
  const parameters = message.mailParameters ? ` ${message.mailParameters}` : '';
  const mail = await wire.command(`MAIL FROM:<${message.from}>${parameters}`);
  const result: WireTransaction = { mail, recipients: [] };
  if (mail.code !== 250) return result;
  for (const to of message.to) result.recipients.push(await wire.command(`RCPT TO:<${to}>`));
  result.data = await wire.command('DATA');
  if (result.data.code !== 354) return result;
  wire.write(message.data);
  wire.write('.\r\n');
  result.final = await wire.reply();
  return result;
}

/** Opens a connection, reads the greeting and says EHLO; returns the client and the EHLO reply. */
export async function greeted(port: number, host = '127.0.0.1'): Promise<{ wire: WireClient; ehlo: WireReply }> {
  const wire = await WireClient.open(port, host);
  await wire.expect(220);
  const ehlo = await wire.command('EHLO wire.test');
  if (ehlo.code !== 250) {
    wire.destroy();
    throw new Error(`EHLO refused: ${ehlo.lines.join(' | ')}`);
  }
  return { wire, ehlo };
}

/** A message of exactly `octets` octets (headers, body, final CRLF), with no line starting with a dot. */
export function messageOfSize(octets: number): string {
  const head = 'Subject: sized\r\n\r\n';
  if (octets < head.length + 2) throw new RangeError(`messageOfSize: at least ${head.length + 2} octets`);
  let body = '';
  let left = octets - head.length;
  while (left > 0) {
    // Lines of at most 78 octets plus CRLF stay well within any line length limit.
    const line = Math.min(left - 2, 78);
    body += `${'x'.repeat(line)}\r\n`;
    left -= line + 2;
    if (left === 1) {
      // A lone octet cannot be a line: move one into the previous line.
      body = `${body.slice(0, -2)}x\r\n`;
      left = 0;
    }
  }
  return head + body;
}
