import type { Socket } from 'node:net';
import { clearTimeout, setTimeout } from 'node:timers';
import { type SecureContext, TLSSocket } from 'node:tls';
import { replies } from '../protocol/replies.js';
import { encodeReply, formatReply, type Reply, reply } from '../protocol/reply.js';
import type { SmtpSession } from '../protocol/session.js';
import type { Delivery } from '../protocol/types.js';
import { type DeadlineExpired, Deadlines } from './deadlines.js';
import { upgradeToTls } from './tls-upgrade.js';

/** What a connection needs from its sink. */
export interface ConnectionHost {
  /** Octets arrived from the client (counted where the sink keeps its counts). */
  received(octets: number): void;
  /** A delivery's final reply was written; it may throw (a user's 'delivery' listener). */
  delivered(delivery: Delivery): void;
  readonly idleTimeout: number;
  /** Per-record deadline in ms (0 = none), see Deadlines. */
  readonly recordTimeout: number;
  /** Session lifetime cap in ms (0 = none). */
  readonly maxSessionTime: number;
  /** Secure context for STARTTLS, when offered. */
  secureContext(): SecureContext | undefined;
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
  /** The client sent its FIN: it sends nothing more, but is still owed the replies to what it sent. */
  private peerEnded = false;
  /** Encoded replies waiting for the next write. */
  private readonly batch: Buffer[] = [];
  /** Deliveries whose final reply is in `batch`: counted once it is written. */
  private settled: Delivery[] = [];
  private readonly deadlines: Deadlines;

  constructor(
    socket: Socket,
    readonly session: SmtpSession,
    private readonly host: ConnectionHost,
    /** The TCP socket under `socket` when that is TLS from the start: a TCP reset must go to it. */
    private readonly tcp: Socket = socket,
  ) {
    this.socket = socket;
    this.attach(socket);
    socket.setNoDelay(true);
    socket.setTimeout(host.idleTimeout);
    this.deadlines = new Deadlines(host, (why) => this.onDeadline(why));
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
    // A client may pipeline its commands and half-close (FIN) at once: Node would then end our side
    // too and drop the replies still owed (a delayed one, those to commands waiting behind it).
    // The connection ends itself once they are out (endIfDone).
    socket.allowHalfOpen = true;
    socket.on('end', () => {
      this.peerEnded = true;
      // A FIN while a reply is held back (a delay, a throttle) and no QUIT sent: the client gave up on
      // the session (RFC 5321 §3.8), so it ends now, not when the delay is over. A client that pipelined
      // up to QUIT and half-closed is still owed its replies.
      if (this.waiting !== undefined && !this.quitSent()) {
        this.destroy();
        return;
      }
      this.endIfDone();
    });
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
    this.host.received(chunk.length);
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
    this.deadlines.watch(this.session.midRecord, this.session.records);
    this.drain();
  }

  /** Carries out the session's output in order; stops at a delay and resumes after it. */
  private drain(): void {
    const out = this.session.output;
    const socket = this.socket;
    while (this.cursor < out.length && !this.ended) {
      const item = out[this.cursor++];
      if (item === undefined) break;
      switch (item.type) {
        case 'reply': {
          // The final reply to a message names its delivery: made for one use, so encoding it directly
          // spares the wire cache an entry per message (and the garbage collector its weak references).
          this.batch.push(
            item.delivery === undefined ? encodeReply(item.reply) : Buffer.from(formatReply(item.reply), 'utf8'),
          );
          this.lastReply = item.reply;
          if (item.delivery !== undefined) this.settled.push(item.delivery);
          break;
        }
        case 'delay': {
          this.flush();
          this.wait(item.ms);
          return;
        }
        case 'close': {
          this.flush();
          this.end();
          return;
        }
        case 'reset': {
          this.flush();
          this.ended = true;
          // Only a TCP socket can send a RST (a TLSSocket throws ERR_INVALID_HANDLE_TYPE); under
          // TLS, the TCP socket is reset and the TLS one goes with it.
          try {
            this.tcp.resetAndDestroy();
          } catch {
            // Not a TCP socket after all (a user-supplied stream): a plain close must do.
          }
          if (socket !== this.tcp || !socket.destroyed) socket.destroy();
          return;
        }
        case 'starttls': {
          this.flush();
          // Nothing follows STARTTLS in the output: once it is taken, the output is done with. Left in
          // place, it would keep endIfDone from ever ending a client that closes after the handshake.
          out.length = 0;
          this.cursor = 0;
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
    this.flush();
    if (this.cursor >= out.length) {
      out.length = 0;
      this.cursor = 0;
      this.endIfDone();
    }
    if (!this.ended && socket.writableLength > WRITE_HIGH_WATER && !this.pausedForWrites) {
      this.pausedForWrites = true;
      socket.pause();
    }
  }

  /**
   * Writes the replies gathered so far in one write: the replies to pipelined commands leave
   * together (RFC 2920), in one system call, without the stream's cork and writev machinery.
   * Then counts the deliveries whose final reply was among them.
   */
  private flush(): void {
    const batch = this.batch;
    if (batch.length === 0) return;
    this.socket.write(batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch));
    batch.length = 0;
    if (this.settled.length === 0) return;
    // Taken out first: a 'delivery' listener may close the sink, which drains (and flushes) again.
    const settled = this.settled;
    this.settled = [];
    for (const delivery of settled) this.delivered(delivery);
  }

  private delivered(delivery: Delivery): void {
    try {
      this.host.delivered(delivery);
    } catch (error) {
      // A throwing 'delivery' listener is the user's bug; the session must go on regardless.
      this.host.internalError(error);
    }
  }

  private wait(ms: number): void {
    // The client is not the one holding things up now: its record deadline waits too.
    this.deadlines.pause();
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
    this.endIfDone();
  }

  /** The client sent QUIT: the session ended on it, or it waits unread behind a delay. */
  private quitSent(): boolean {
    if (this.session.closed) return true;
    if (this.backlog.length === 0) return false;
    return /(?:^|\n)QUIT\r?\n/i.test(Buffer.concat(this.backlog).toString('latin1'));
  }

  /** After the client's FIN, ends the connection once nothing it sent is left unanswered. */
  private endIfDone(): void {
    if (
      this.peerEnded &&
      !this.ended &&
      this.waiting === undefined &&
      this.backlog.length === 0 &&
      !this.upgrading &&
      this.session.output.length === 0
    ) {
      this.end();
    }
  }

  private startTls(): void {
    const secureContext = this.host.secureContext();
    if (secureContext === undefined) {
      this.session.terminate(replies.tlsNotAvailable);
      this.drain();
      return;
    }
    this.upgrading = true;
    this.deadlines.pause();
    // Anything the client pipelined after STARTTLS in plaintext is thrown away (CVE-2011-0411).
    this.backlog = [];
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('timeout');
    plain.removeAllListeners('drain');
    plain.removeAllListeners('close');
    plain.removeAllListeners('end');
    // A FIN during the handshake ends the connection, as before any session (attach turns this off again).
    plain.allowHalfOpen = false;
    // From here the handshake timer below watches the connection; the plain socket's would fire unheard.
    plain.setTimeout(0);
    plain.on('close', () => this.onClose());
    const context = this.host.handshakeFault ? undefined : secureContext;
    this.socket = upgradeToTls(plain, context, 'starttls', this.host.idleTimeout, {
      secured: (secure, info) => {
        this.upgrading = false;
        this.session.tlsStarted(info);
        // Idle from now on means an idle session, which gets its 421 from onIdle.
        this.attach(secure);
        secure.setTimeout(this.host.idleTimeout);
      },
      failed: () => this.destroy(),
    });
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

  /** A record took too long, or the session reached its lifetime cap: 421, then close. */
  private onDeadline(why: DeadlineExpired): void {
    if (this.ended) return;
    // A record deadline that fires while the sink itself holds the client up is not the client's doing.
    if (why === 'record' && (this.waiting !== undefined || this.upgrading)) return;
    this.session.output.length = 0;
    this.cursor = 0;
    this.session.terminate(
      why === 'record'
        ? replies.recordTimeout(this.host.recordTimeout / 1000)
        : replies.sessionTooLong(this.host.maxSessionTime / 1000),
    );
    this.drain();
    this.destroy();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    const socket = this.socket;
    if (this.lastReply?.code === 221 && socket.writableLength === 0 && !(socket instanceof TLSSocket)) {
      // After 221 the client has nothing left to say (RFC 5321 §4.1.1.10) and the reply is in the
      // kernel: closing now sends it and then the FIN, and spares the half-close round trip (and the
      // read error of the many clients that answer the FIN with a reset).
      socket.destroy();
      return;
    }
    socket.end();
    // A client that never reads its socket must not keep the connection open: give the FIN a moment.
    const timer = setTimeout(() => socket.destroy(), 2000);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  private destroy(): void {
    this.ended = true;
    this.deadlines.stop();
    clearTimeout(this.waiting);
    this.waiting = undefined;
    this.socket.destroy();
  }

  private closed = false;
  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.ended = true;
    this.deadlines.stop();
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
