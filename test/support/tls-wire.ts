import { connect as connectTcp, type Socket } from 'node:net';
import { type ConnectionOptions, connect as connectTls, type TLSSocket } from 'node:tls';
import { WireReplies, type WireReply } from './wire-replies.js';
import { within } from './within.js';

/** One complete SMTP reply read off the wire (the same shape as the plain wire client's). */
export type TlsWireReply = WireReply;

/**
 * A raw SMTP client that writes exactly the bytes it is given and can switch its socket to TLS
 * mid-session, as a STARTTLS client does. Tests use it where a real client would hide what matters:
 * pipelining past STARTTLS, garbage instead of a handshake, a handshake never started.
 *
 * @example const wire = await TlsWire.open(sink.port); await wire.reply(); await wire.upgrade({ ca: sink.ca });
 */
export class TlsWire {
  private readonly replies = new WireReplies();
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
        this.replies.close();
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
    return this.replies.closed;
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
  reply(timeout = 5000): Promise<TlsWireReply> {
    return this.replies.next(timeout);
  }

  /** Replies received but not read yet, and any partial reply: what arrived unasked. */
  unread(): string {
    return this.replies.unread();
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
    await within(this.closed, timeout, 'the server closing the connection');
  }

  /** Closes the connection (idempotent). */
  destroy(): void {
    this.secure?.destroy();
    this.tcp.destroy();
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => this.replies.push(chunk.toString('latin1')));
  }
}
