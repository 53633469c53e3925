import { isUtf8 } from 'node:buffer';
import type { EsmtpParameter } from './address.js';
import type { DataReader } from './data-reader.js';
import type { HeaderSectionCollector } from './header-section.js';
import { CommandLineReader } from './line-reader.js';
import { replies } from './replies.js';
import type { Reply } from './reply.js';
import type {
  AuthProvider,
  ConnectionInfo,
  Decision,
  Delivery,
  MessageWriter,
  SaslCredentials,
  SaslExchange,
  SessionObserver,
  SessionOutput,
  SessionTranscript,
  Stage,
  StageContext,
  StagePolicy,
  TlsInfo,
  Transaction,
} from './types.js';

/** Limits and switches of a session; the server fills them from the sink options. */
export interface SessionOptions {
  hostname: string;
  /** Largest message in octets; 0 means no limit (advertised as `SIZE 0`, RFC 1870). */
  maxMessageSize: number;
  maxCommandLineLength: number;
  maxDataLineLength: number;
  maxRecipients: number;
  /** Refused recipients kept per transaction (with their replies); the rest are only counted. */
  maxRejectedRecipients: number;
  /** Errors (invalid or refused commands) before `421 4.7.0` closes the session (Postfix's hard error limit). */
  maxInvalidCommands: number;
  /** Errors after which each further error reply waits `errorDelay` ms (Postfix's soft error limit). */
  softErrorLimit: number;
  /** Milliseconds each error reply waits once `softErrorLimit` is reached; 0 = no wait. */
  errorDelay: number;
  /** STARTTLS is offered (the connection can upgrade). */
  starttls: boolean;
  requireTls: boolean;
  /** Speak LMTP (RFC 2033): LHLO, and one final reply per recipient. */
  lmtp: boolean;
  /** Accept commands out of order, like the black-hole MTA did. */
  lenient: boolean;
  auth: AuthProvider | undefined;
  policy: StagePolicy | undefined;
  /** EHLO keywords left out of the list (upper-case names, e.g. `PIPELINING`, `SIZE`); the engine still understands them. */
  hiddenKeywords?: ReadonlySet<string>;
  nextDeliveryId: () => string;
}

export type Mode = 'command' | 'data' | 'bdat' | 'auth' | 'tls' | 'closed';

/** Why the BDAT chunk being read will be refused once its octets are in; `invalid` counts as an error (maxInvalidCommands). */
export interface ChunkRefusal {
  reply: Reply;
  invalid: boolean;
}

/** Fault firings kept with one transaction's record (a rule firing on every RCPT of a flood must not grow it). */
export const MAX_FAULTS_PER_TRANSACTION = 100;
/** BDAT octets that count as one record for the per-record deadline (a slow chunk must keep moving). */
export const BDAT_RECORD = 64 * 1024;
/** Returned while a stage's decision is a pending promise: the caller stores how to go on (`whenSent`, `whenDecided`). */
export const PENDING: unique symbol = Symbol('pending decision');
export type Pending = typeof PENDING;
/** A decision carried out: the reply, what follows it, and (with transcripts on) what decided it. */
export type Decided = { reply: Reply; then: Decision['then']; by?: string };
export const SASL_LINE_LIMIT = 12 * 1024;
export const HTTP_VERBS = new Set(['GET', 'POST', 'PUT', 'HEAD', 'CONNECT', 'OPTIONS', 'DELETE', 'PATCH']);
export const UNIMPLEMENTED = new Set(['EXPN', 'TURN', 'ETRN', 'ATRN', 'SEND', 'SOML', 'SAML']);
/** Commands allowed before STARTTLS when TLS is required (issue #3, RFC 3207 §4). */
export const BEFORE_TLS = new Set(['EHLO', 'HELO', 'LHLO', 'STARTTLS', 'NOOP', 'RSET', 'QUIT']);
/**
 * Commands refused with `530 5.7.0` before AUTH when it is required (RFC 4954 §6), whatever the
 * strictness: lenient mode lets RCPT open a transaction without MAIL, so MAIL alone is no gate.
 */
export const NEED_AUTH = new Set(['MAIL', 'RCPT', 'DATA', 'BDAT']);

/**
 * The state of one SMTP session and what every command handler shares: replying, refusing,
 * asking the policy. The handlers live beside it (session-envelope.ts, session-message.ts,
 * session-auth.ts) and `SmtpSession` (session.ts) feeds and dispatches. Members are internal to
 * protocol/: the connection uses only what `SmtpSession` documents.
 */
export class SessionCore {
  /** Pending actions for the connection; it drains (and empties) this after each call. */
  readonly output: SessionOutput[] = [];
  mode: Mode = 'command';
  readonly lines: CommandLineReader;
  greeted = false;
  esmtp = false;
  heloName: string | undefined;
  tls: TlsInfo | undefined;
  user: string | undefined;
  transaction: Transaction | undefined;
  /** Errors since the session began or since its last accepted message (Postfix counts the same way). */
  errors = 0;
  /** RCPTs refused for maxRecipients in this transaction: past as many again, each counts as an error. */
  overshoot = 0;
  refusedAll = false;
  // DATA and BDAT state.
  data: DataReader | undefined;
  writer: MessageWriter | undefined;
  headers: HeaderSectionCollector | undefined;
  bdatRemaining = 0;
  bdatLast = false;
  bdatStarted = false;
  bdatFailed: Reply | undefined;
  bdatSize = 0;
  bdatTooBig = false;
  chunkRefusal: ChunkRefusal | undefined;
  sasl: SaslExchange | undefined;
  saslMechanism = '';
  faults: Delivery['faults'] = [];
  /** Records (command lines, message lines, 64 KiB of a BDAT chunk) completed: see `records`. */
  recordCount = 0;
  bdatRecordOctets = 0;
  bdatChunkStart = 0;
  /** The whole message, kept for a policy that decides on it (`wantsMessage`). */
  message: MessageCollector | undefined;
  // A pending (asynchronous) decision: what settles it, what follows it, and the input held meanwhile.
  settleWith: ((decision: Decision | undefined) => void) | undefined;
  continuation: ((final: Reply | undefined) => void) | undefined;
  held: Buffer | undefined;
  // What the stage being decided adds to its context (set just for the call to the policy).
  stageParameters: EsmtpParameter[] | undefined;
  stageCredentials: SaslCredentials | undefined;
  stageCommand: string | undefined;
  /**
   * Set by the server before `start()` when the sink keeps session transcripts; left undefined,
   * the session pays one property check per command and reply.
   */
  transcript: SessionTranscript | undefined;

  constructor(
    readonly options: SessionOptions,
    readonly connection: ConnectionInfo,
    readonly observer: SessionObserver,
    tls?: TlsInfo,
  ) {
    this.lines = new CommandLineReader(this.commandLineLimit());
    this.tls = tls;
  }

  /**
   * Octets a command line may reach before it is thrown away unread: `maxCommandLineLength`, or,
   * with AUTH offered, 12288 (RFC 4954 §4), so `AUTH XOAUTH2 <token>` fits on one line. Commands
   * other than AUTH are still held to `maxCommandLineLength` once read.
   */
  commandLineLimit(): number {
    const max = this.options.maxCommandLineLength;
    return this.options.auth === undefined ? max : Math.max(SASL_LINE_LIMIT, max);
  }

  /** Ends the session with a 421-class reply. */
  terminate(reply: Reply): void {
    if (this.mode === 'closed') return;
    this.mode = 'closed';
    this.transcript?.reply(reply, undefined);
    this.output.push({ type: 'reply', reply }, { type: 'close' });
  }

  // --- replies, decisions and errors -------------------------------------------------------
  context(stage: Stage, recipient: string | undefined, headers: Buffer | undefined, message?: Buffer): StageContext {
    // Every field always present: one object shape for every stage keeps the policy's reads monomorphic.
    return {
      stage,
      connection: this.connection,
      heloName: this.heloName,
      tls: this.tls,
      user: this.user,
      transaction: this.transaction,
      recipient,
      headers,
      message,
      credentials: this.stageCredentials,
      parameters: this.stageParameters,
      command: this.stageCommand,
    };
  }

  /**
   * Asks the policy about a stage without sending anything. Returns the final reply and what
   * follows it, `undefined` when the decision dropped the connection (reset, silent close), or
   * `PENDING` when the policy answered with a promise: an `await` output is queued and the caller
   * says how to go on (`whenDecided`, or through `respond`, `whenSent`).
   */
  decideOnly(
    stage: Stage,
    proposed: Reply,
    recipient?: string,
    headers?: Buffer,
    message?: Buffer,
  ): Decided | undefined | Pending {
    const policy = this.options.policy;
    if (policy === undefined) return { reply: proposed, then: undefined };
    const decision = policy.decide(this.context(stage, recipient, headers, message), proposed);
    if (decision !== undefined && typeof (decision as PromiseLike<unknown>).then === 'function') {
      this.output.push({ type: 'await', decision: decision as PromiseLike<Decision | undefined>, stage });
      return PENDING;
    }
    return this.apply(decision as Decision | undefined, proposed);
  }

  /** Carries out a decision: records its fault, queues its delay and connection trouble; `undefined` when it drops the connection. */
  apply(decision: Decision | undefined, proposed: Reply): Decided | undefined {
    if (decision === undefined) return { reply: proposed, then: undefined };
    const by = this.transcript === undefined ? undefined : decidedBy(decision);
    if (decision.fault !== undefined) {
      // The record keeps the first ones; every firing is still counted and logged by the fault rules.
      if (this.faults.length < MAX_FAULTS_PER_TRANSACTION) this.faults.push(decision.fault);
      this.observer.faultFired(decision.fault, this.connection);
    }
    if (decision.delayMs !== undefined && decision.delayMs > 0)
      this.output.push({ type: 'delay', ms: decision.delayMs });
    if (decision.throttleBytesPerSecond !== undefined) {
      this.output.push({ type: 'throttle', bytesPerSecond: decision.throttleBytesPerSecond });
    }
    if (decision.stallAfterBytes !== undefined)
      this.output.push({ type: 'stall', afterBytes: decision.stallAfterBytes });
    if (decision.then === 'reset' || decision.then === 'silent-close') {
      this.transcript?.note(
        `${decision.then === 'reset' ? 'connection reset' : 'connection closed'} without a reply${by ? ` (${by})` : ''}`,
      );
      this.mode = 'closed';
      this.output.push({ type: decision.then === 'reset' ? 'reset' : 'close' });
      return undefined;
    }
    const reply = decision.reply ?? proposed;
    // RFC 5321 §3.8: 421 closes the channel, whoever chose it (a policy, an X-Mailhole-Reply header).
    const then = reply.code === 421 && decision.then === undefined ? 'close' : decision.then;
    return by === undefined ? { reply, then } : { reply, then, by };
  }

  /**
   * Decides, sends the reply and applies what follows. Returns the reply sent, `undefined` if
   * dropped, or `PENDING`: the caller then says how to go on with `whenSent`.
   */
  respond(stage: Stage, proposed: Reply, recipient?: string): Reply | undefined | Pending {
    const decided = this.decideOnly(stage, proposed, recipient);
    if (decided === PENDING) {
      this.whenDecided(this.sendLate, proposed, stage);
      return PENDING;
    }
    return this.send(stage, decided);
  }

  send(stage: Stage, decided: Decided | undefined): Reply | undefined {
    if (decided === undefined) return undefined;
    if (decided.reply.code >= 400) this.observer.refused(stage.toUpperCase(), decided.reply, this.connection);
    this.transcript?.reply(decided.reply, decided.by);
    this.output.push({ type: 'reply', reply: decided.reply });
    this.after(decided.then);
    return decided.reply;
  }

  /** A pending reply decided: send it, then go on where the command stopped. */
  sendLate(decided: Decided | undefined, stage: Stage): void {
    const final = this.send(stage, decided);
    const next = this.continuation;
    this.continuation = undefined;
    next?.(final);
  }

  // The closures of the pending path are made here, never in the command handlers: a closure in a
  // handler would make V8 allocate its captured variables on every call, the synchronous ones too.

  /** After a pending decision settles: `next(apply(decision), ...args)`. */
  whenDecided<A extends unknown[]>(
    next: (this: SessionCore, decided: Decided | undefined, ...args: A) => void,
    proposed: Reply,
    ...args: A
  ): void {
    this.settleWith = (decision) => next.call(this, this.apply(decision, proposed), ...args);
  }

  /** After `respond` sent a reply that was pending: `next(final, ...args)`. */
  whenSent<A extends unknown[]>(next: (final: Reply | undefined, ...args: A) => void, ...args: A): void {
    this.continuation = (final) => next(final, ...args);
  }

  after(then: Decision['then']): void {
    if (then === 'close' && this.mode !== 'closed') {
      this.mode = 'closed';
      this.output.push({ type: 'close' });
    }
  }

  reply(reply: Reply): void {
    this.transcript?.reply(reply, undefined);
    this.output.push({ type: 'reply', reply });
  }

  /** A command refused for a reason other than bad syntax or sequence (does not count as invalid). */
  refuse(command: string, reply: Reply): void {
    this.observer.refused(command, reply, this.connection);
    this.transcript?.reply(reply, undefined);
    this.output.push({ type: 'reply', reply });
  }

  /** An unknown, malformed or out-of-sequence command: an error (see `error`). */
  invalid(command: string, reply: Reply): void {
    this.error(command, reply);
  }

  /**
   * A command refused because of the client (bad syntax or sequence, a gate such as requireAuth, a
   * recipient flood), not because a behaviour chose to refuse it. Postfix's soft and hard error
   * limits: past `softErrorLimit` each such reply waits `errorDelay` ms, at `maxInvalidCommands`
   * the session ends with `421 4.7.0`.
   */
  error(command: string, reply: Reply): void {
    this.errors++;
    const { softErrorLimit, errorDelay, maxInvalidCommands } = this.options;
    if (this.errors > softErrorLimit && errorDelay > 0 && this.errors < maxInvalidCommands) {
      this.output.push({ type: 'delay', ms: errorDelay });
    }
    this.refuse(command, reply);
    if (this.errors >= maxInvalidCommands) this.terminate(replies.tooManyErrors(maxInvalidCommands));
  }

  /** An error whose reply is already out (a refusal a behaviour chose, past the recipient overshoot). */
  countError(): void {
    this.errors++;
    if (this.errors >= this.options.maxInvalidCommands) {
      this.terminate(replies.tooManyErrors(this.options.maxInvalidCommands));
    }
  }

  resetTransaction(): void {
    this.transaction = undefined;
    this.overshoot = 0;
    this.data = undefined;
    this.writer = undefined;
    this.headers = undefined;
    this.message = undefined;
    this.bdatStarted = false;
    this.bdatFailed = undefined;
    this.bdatSize = 0;
    this.bdatChunkStart = 0;
    this.bdatTooBig = false;
    this.chunkRefusal = undefined;
    if (this.faults.length > 0) this.faults = [];
  }
}

export const MASKED = '<masked>';

/** `AUTH PLAIN <secret>` as `AUTH PLAIN <masked>`: a transcript never holds a credential. */
export function maskAuth(text: string): string {
  const m = /^(AUTH +\S+) +\S/i.exec(text);
  return m === null ? text : `${m[1]} ${MASKED}`;
}

/** What made a decision, in words, for the transcript. */
function decidedBy(decision: Decision): string | undefined {
  if (decision.decidedBy !== undefined) return decision.decidedBy;
  if (decision.fault !== undefined) return `fault rule "${decision.fault.rule}" (${decision.fault.action})`;
  if (decision.delayMs !== undefined && decision.delayMs > 0) return `delayed ${decision.delayMs} ms`;
  return 'policy';
}

/** The command as text, or the reply that refuses it (control bytes, invalid UTF-8). */
export function decodeCommand(line: Buffer): string | Reply {
  let ascii = true;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as number;
    if (c < 0x20 || c === 0x7f) return replies.controlBytes;
    if (c > 0x7f) ascii = false;
  }
  if (ascii) return line.toString('latin1');
  if (!isUtf8(line)) return replies.badUtf8;
  return line.toString('utf8');
}

/** The line is an AUTH command (`AUTH ` in any case): the one command RFC 4954 lets be longer. */
export function isAuthCommand(line: Buffer): boolean {
  return line.length > 5 && line[4] === 0x20 && line.subarray(0, 4).toString('latin1').toUpperCase() === 'AUTH';
}

/** Keeps the whole message for a policy that decides on it, bounded by the size limit (0: no limit). */
export class MessageCollector {
  private readonly parts: Buffer[] = [];
  private length = 0;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    const room = this.limit > 0 ? this.limit - this.length : chunk.length;
    if (room <= 0) return;
    // Copied: the socket's buffer may be a slice of a larger one the reader would otherwise keep alive.
    const part = Buffer.from(chunk.length > room ? chunk.subarray(0, room) : chunk);
    this.parts.push(part);
    this.length += part.length;
  }

  result(): Buffer {
    return this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.length);
  }
}

export function hasNonAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return true;
  return false;
}

export const KNOWN = new Set(['MAIL', 'RCPT', 'DATA', 'BDAT', 'VRFY', 'HELP', 'AUTH', 'EXPN']);
export function isKnownVerb(verb: string): boolean {
  return KNOWN.has(verb);
}
