import type { Socket } from 'node:net';
import { clearTimeout, setTimeout } from 'node:timers';
import { type SecureContext, TLSSocket } from 'node:tls';
import { replies } from '../protocol/replies.js';
import { encodeReply, type Reply, reply } from '../protocol/reply.js';
import type { SmtpSession } from '../protocol/session.js';
import type { Delivery, TlsInfo } from '../protocol/types.js';
import type { Recorder } from '../record/recorder.js';
import { refuseHandshake } from '../tls/handshake-fault.js';

/** What a connection needs from its sink. */
export interface ConnectionHost {
  readonly recorder: Recorder;
  readonly idleTimeout: number;
  /** Secure context for STARTTLS, when offered. */
  secureContext(): SecureContext | undefined;
  readonly minTlsVersion: 'TLSv1.2' | 'TLSv1.3';
  /** Fail every STARTTLS handshake (the `handshake` TLS fault). */
  readonly handshakeFault: boolean;
  /** The connection is gone; the sink forgets it. */
  release(connection: Connection): void;
  /** A bug surfaced in a session; reported, never thrown into the host process. */
  internalError(error: unknown): void;
}

const internalErrorReply = reply(
  421,
  '4.3.0',
  'Internal error in the sink: closing the connection (see the sink\'s "error" event)',
);
/** Replies waiting in the socket past this pause reading, so a client that never reads cannot grow memory. */
const WRITE_HIGH_WATER = 256 * 1024;

/**
 * One client connection: moves bytes from the socket into the session and the session's
 * replies back out, honours delays, STARTTLS, throttling and closing. It holds no SMTP logic.
 */
export class Connection {
  private socket: Socket;
  private cursor = 0;
  private waiting: NodeJS.Timeout | undefined;
  private backlog: Buffer[] = [];
  private ended = false;
  private upgrading = false;
  private lastReply: Reply | undefined;
  private throttle = 0;
  private stallAfter = -1;
  private pausedForWrites = false;

  constructor(
    socket: Socket,
    readonly session: SmtpSession,
    private readonly host: ConnectionHost,
  ) {
    this.socket = socket;
    this.attach(socket);
    socket.setNoDelay(true);
    socket.setTimeout(host.idleTimeout);
  }

  /** Sends the greeting and starts reading. */
  start(): void {
    this.session.start();
    this.drain();
  }

  /** Ends the session with 421 (the sink is closing) and destroys the socket right after. */
  shutdown(): void {
    if (this.ended) return;
    clearTimeout(this.waiting);
    this.waiting = undefined;
    // Whatever was delayed is dropped: a delivery whose reply never went out is never counted.
    this.session.output.length = 0;
    this.cursor = 0;
    if (!this.upgrading) {
      this.session.shutdown();
      this.drain();
    }
    this.destroy();
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => this.onIdle());
    socket.on('error', () => {
      // Resets and broken pipes are a client's business; 'close' follows and cleans up.
    });
    if (socket instanceof TLSSocket) {
      // A TLSSocket made outside a tls.Server reports a TLS error after the handshake (a record that
      // fails to decrypt) only as '_tlsError', never 'error', and stays open: the session is dead,
      // so end it now rather than hold it until idleTimeout (smtp-server listens the same way).
      socket.on('_tlsError', () => this.destroy());
    }
    socket.on('close', () => this.onClose());
    socket.on('drain', () => {
      if (this.pausedForWrites) {
        this.pausedForWrites = false;
        if (this.waiting === undefined && !this.ended) this.socket.resume();
      }
    });
  }

  private onData(chunk: Buffer): void {
    this.host.recorder.received(chunk.length);
    if (this.waiting !== undefined || this.upgrading) {
      this.backlog.push(chunk);
      return;
    }
    if (this.stallAfter >= 0) {
      if (chunk.length > this.stallAfter) {
        // A stalled server: keep what it "read", never read again; the idle timeout ends it.
        chunk = chunk.subarray(0, this.stallAfter);
        this.stallAfter = 0;
        this.socket.pause();
        this.feed(chunk);
        this.socket.pause();
        return;
      }
      this.stallAfter -= chunk.length;
    }
    this.feed(chunk);
    if (this.throttle > 0 && !this.ended) {
      this.socket.pause();
      this.wait(Math.ceil((chunk.length * 1000) / this.throttle));
    }
  }

  private feed(chunk: Buffer): void {
    try {
      this.session.feed(chunk);
    } catch (error) {
      this.host.internalError(error);
      this.session.output.length = 0;
      this.cursor = 0;
      this.session.terminate(internalErrorReply);
    }
    this.drain();
  }

  /** Carries out the session's output in order; stops at a delay and resumes after it. */
  private drain(): void {
    const out = this.session.output;
    const socket = this.socket;
    let corked = false;
    while (this.cursor < out.length && !this.ended) {
      const item = out[this.cursor++];
      if (item === undefined) break;
      switch (item.type) {
        case 'reply': {
          if (!corked) {
            // Replies to pipelined commands leave in one write (RFC 2920).
            socket.cork();
            corked = true;
          }
          socket.write(encodeReply(item.reply));
          this.lastReply = item.reply;
          if (item.delivery !== undefined) this.delivered(item.delivery);
          break;
        }
        case 'delay': {
          if (corked) socket.uncork();
          corked = false;
          this.wait(item.ms);
          return;
        }
        case 'close': {
          if (corked) socket.uncork();
          corked = false;
          this.end();
          return;
        }
        case 'reset': {
          this.ended = true;
          socket.resetAndDestroy();
          return;
        }
        case 'starttls': {
          if (corked) socket.uncork();
          corked = false;
          this.startTls();
          return;
        }
        case 'throttle':
          this.throttle = item.bytesPerSecond;
          break;
        case 'stall':
          this.stallAfter = item.afterBytes;
          break;
      }
    }
    if (corked) socket.uncork();
    if (this.cursor >= out.length) {
      out.length = 0;
      this.cursor = 0;
    }
    if (!this.ended && socket.writableLength > WRITE_HIGH_WATER && !this.pausedForWrites) {
      this.pausedForWrites = true;
      socket.pause();
    }
  }

  private delivered(delivery: Delivery): void {
    try {
      this.host.recorder.delivered(delivery);
    } catch (error) {
      // A throwing 'delivery' listener is the user's bug; the session must go on regardless.
      this.host.internalError(error);
    }
  }

  private wait(ms: number): void {
    this.socket.pause();
    this.waiting = setTimeout(() => {
      this.waiting = undefined;
      if (this.ended) return;
      this.drain();
      this.flushBacklog();
    }, ms);
  }

  private flushBacklog(): void {
    while (this.backlog.length > 0 && this.waiting === undefined && !this.ended && !this.upgrading) {
      this.feed(this.backlog.shift() as Buffer);
    }
    if (
      this.waiting === undefined &&
      !this.ended &&
      !this.upgrading &&
      !this.pausedForWrites &&
      this.stallAfter !== 0
    ) {
      this.socket.resume();
    }
  }

  private startTls(): void {
    const context = this.host.secureContext();
    if (context === undefined) {
      this.session.terminate(replies.tlsNotAvailable);
      this.drain();
      return;
    }
    this.upgrading = true;
    // Anything the client pipelined after STARTTLS in plaintext is thrown away (CVE-2011-0411).
    this.backlog = [];
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('timeout');
    plain.removeAllListeners('drain');
    plain.removeAllListeners('close');
    // From here the handshake timer below watches the connection; the plain socket's would fire unheard.
    plain.setTimeout(0);
    plain.on('close', () => this.onClose());
    const handshakeTimeout = (): void => this.destroy();
    if (this.host.handshakeFault) {
      refuseHandshake(plain);
      plain.setTimeout(this.host.idleTimeout, handshakeTimeout);
      return;
    }
    const secure = new TLSSocket(plain, {
      isServer: true,
      secureContext: context,
      requestCert: false,
    });
    this.socket = secure;
    secure.on('error', () => this.destroy());
    secure.once('secure', () => {
      this.upgrading = false;
      const info: TlsInfo = {
        protocol: secure.getProtocol() ?? 'unknown',
        cipher: secure.getCipher()?.name ?? 'unknown',
        mode: 'starttls',
      };
      this.session.tlsStarted(info);
      // Idle from now on means an idle session, which gets its 421 from onIdle.
      secure.removeListener('timeout', handshakeTimeout);
      this.attach(secure);
      secure.setTimeout(this.host.idleTimeout);
    });
    secure.setTimeout(this.host.idleTimeout, handshakeTimeout);
  }

  private onIdle(): void {
    if (this.ended) return;
    if (this.waiting !== undefined) return;
    this.session.output.length = 0;
    this.cursor = 0;
    // Not rounded: a 300 ms test timeout must not be reported as "Idle for 0 s".
    this.session.idleTimeout(this.host.idleTimeout / 1000);
    this.drain();
    this.destroy();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    const socket = this.socket;
    socket.end();
    // A client that never reads its socket must not keep the connection open: give the FIN a moment.
    const timer = setTimeout(() => socket.destroy(), 2000);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  private destroy(): void {
    this.ended = true;
    clearTimeout(this.waiting);
    this.waiting = undefined;
    this.socket.destroy();
  }

  private closed = false;
  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.ended = true;
    clearTimeout(this.waiting);
    this.waiting = undefined;
    this.backlog = [];
    this.host.release(this);
  }

  /** The last reply this connection sent (for "what the last session saw"). */
  get lastSent(): Reply | undefined {
    return this.lastReply;
  }
}
