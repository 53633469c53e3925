import { connect as connectTcp, type Socket } from 'node:net';
import { type ConnectionOptions, connect as connectTls, type TLSSocket } from 'node:tls';

/** One complete SMTP reply read off the wire. */
export interface TlsWireReply {
  code: number;
  /** Every line, CRLF stripped, e.g. `['250-localhost', '250 STARTTLS']`. */
  lines: string[];
  /** The line with the code and a space, e.g. `503 5.5.1 Bad sequence of commands: …`. */
  last: string;
}

/**
 * A raw SMTP client that writes exactly the bytes it is given and can switch its socket to TLS
 * mid-session, as a STARTTLS client does. Tests use it where a real client would hide what matters:
 * pipelining past STARTTLS, garbage instead of a handshake, a handshake never started.
 *
 * @example const wire = await TlsWire.open(sink.port); await wire.reply(); await wire.upgrade({ ca: sink.ca });
 */
export class TlsWire {
  private text = '';
  private replies: TlsWireReply[] = [];
  private wake: (() => void) | undefined;
  private pending: string[] = [];
  private closedFlag = false;
  private markClosed: () => void = () => undefined;
  private socket: Socket;
  /** Resolves when the TCP connection has closed, whoever closed it. */
  readonly closed: Promise<void>;
  /** The TLS socket once `upgrade` succeeded. */
  secure: TLSSocket | undefined;

  private constructor(private readonly tcp: Socket) {
    this.socket = tcp;
    tcp.on('error', () => {
      // The server resetting the connection is something tests assert through `closed`.
    });
    this.listen(tcp);
    this.closed = new Promise((resolve) => {
      this.markClosed = () => {
        this.closedFlag = true;
        this.wake?.();
        resolve();
      };
    });
    tcp.once('close', this.markClosed);
  }

  /** Connects to 127.0.0.1:`port` in plaintext. */
  static open(port: number): Promise<TlsWire> {
    return new Promise((resolve, reject) => {
      const socket = connectTcp({ host: '127.0.0.1', port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new TlsWire(socket));
      });
    });
  }

  /** Connects to 127.0.0.1:`port` and completes a TLS handshake first (implicit TLS). */
  static async openTls(port: number, options: ConnectionOptions): Promise<TlsWire> {
    const wire = await TlsWire.open(port);
    await wire.upgrade(options);
    return wire;
  }

  get ended(): boolean {
    return this.closedFlag;
  }

  /** Writes raw bytes, no CRLF added. */
  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Writes `line` + CRLF and returns the next reply. */
  async command(line: string): Promise<TlsWireReply> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** The next reply; rejects after `timeout` ms or when the connection closes first, naming what was read. */
  async reply(timeout = 5000): Promise<TlsWireReply> {
    const deadline = Date.now() + timeout;
    while (this.replies.length === 0) {
      if (this.closedFlag) throw new Error(`connection closed before a reply; unparsed: ${JSON.stringify(this.text)}`);
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
    return this.replies.shift() as TlsWireReply;
  }

  /** Replies received but not read yet, and any partial line: what arrived unasked. */
  unread(): string {
    return [...this.replies.map((r) => r.lines.join('\r\n')), this.text].join('\r\n');
  }

  /**
   * Starts TLS on the connection (after `220 Ready to start TLS`, or at once for implicit TLS) and
   * resolves once the handshake verified the server; rejects with the TLS error otherwise.
   */
  upgrade(options: ConnectionOptions): Promise<TLSSocket> {
    // Plaintext the server sent after its 220 would be a bug the test should see, not lose.
    this.tcp.removeAllListeners('data');
    return new Promise((resolve, reject) => {
      const secure = connectTls({ servername: 'localhost', ...options, socket: this.tcp });
      secure.once('error', reject);
      secure.once('secureConnect', () => {
        secure.removeListener('error', reject);
        secure.on('error', () => {
          // Later resets show up as `closed`.
        });
        this.socket = secure;
        this.secure = secure;
        this.listen(secure);
        secure.once('close', this.markClosed);
        resolve(secure);
      });
    });
  }

  /** Resolves when the server closed the connection; rejects after `timeout` ms. */
  async waitClosed(timeout = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.closed,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the server kept the connection open for ${timeout} ms`)), timeout);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Closes the connection (idempotent). */
  destroy(): void {
    this.secure?.destroy();
    this.tcp.destroy();
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('latin1');
      this.parse();
      this.wake?.();
    });
  }

  private parse(): void {
    for (;;) {
      const eol = this.text.indexOf('\r\n');
      if (eol < 0) return;
      const line = this.text.slice(0, eol);
      this.text = this.text.slice(eol + 2);
      this.pending.push(line);
      if (!/^\d{3}-/.test(line)) {
        this.replies.push({ code: Number.parseInt(line.slice(0, 3), 10), lines: this.pending, last: line });
        this.pending = [];
      }
    }
  }
}
