import type { EsmtpParameter } from '../protocol/address.js';
import { type Reply, reply } from '../protocol/reply.js';
import type {
  ConnectionInfo,
  Decision,
  SaslCredentials,
  StageContext,
  StagePolicy,
  TlsInfo,
  Transaction,
} from '../protocol/types.js';
import { behaviourReplies } from './replies.js';

/**
 * What a hook answers: nothing (the engine's reply stands), or the reply to send instead.
 * `enhanced` and `text` default from the code (`451` → `4.3.0 Requested action aborted: …`);
 * `close: true` ends the connection after the reply (421 always does).
 *
 * @example return { code: 550, text: 'No such user here' };
 */
export interface HookReply {
  code: number;
  enhanced?: string;
  text?: string | readonly string[];
  close?: boolean;
}

/** A hook answers synchronously (the fast path) or with a promise the session waits for, in order. */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook that returns nothing (no return statement) is typed void.
export type HookResult = HookReply | undefined | void | PromiseLike<HookReply | undefined | void>;

/**
 * The one object a connection's hooks share, from `connect` to `close`. The engine keeps its
 * fields current before each hook; `state` is yours.
 *
 * @example hooks: { rcpt: (session) => { session.state.count = ((session.state.count as number) ?? 0) + 1; } }
 */
export interface HookSession {
  /** Sink-unique number of the connection (as in `sink.sessions()` and the delivery records). */
  readonly id: number;
  readonly connection: ConnectionInfo;
  readonly remoteAddress: string;
  /** The HELO/EHLO/LHLO name: at stage `helo` the one being decided. */
  heloName: string | undefined;
  tls: TlsInfo | undefined;
  /** The authenticated user, once AUTH succeeded. */
  user: string | undefined;
  /** The mail transaction being built (sender, recipients so far, MAIL parameters), if any. */
  transaction: Transaction | undefined;
  /** Yours: whatever your hooks keep across this connection's commands. */
  readonly state: Record<string, unknown>;
}

/** A path from `MAIL FROM` or `RCPT TO`, with every ESMTP parameter as the client sent it. */
export interface HookAddress {
  address: string;
  /** Names upper-cased, values as sent (`undefined` for a bare keyword such as `SMTPUTF8`). */
  parameters: readonly EsmtpParameter[];
}

/** What the `message` hook gets besides the message itself. */
export interface HookMessageInfo {
  /** The reply the engine would send: `250`, or `552` when the message went over `maxMessageSize` (then `message` is cut there). */
  proposed: Reply;
  /** Octets received (after dot-unstuffing), the ones past the size limit included. */
  size: number;
  /** Under LMTP the message is decided once per recipient: this one. */
  recipient: string | undefined;
}

/**
 * Your code deciding the replies: one function per stage, each may answer at once or with a
 * promise. A hook that throws or rejects gets the client a `451 4.3.0` and the sink an `error`
 * event; one that never settles is ended by `idleTimeout` (421).
 *
 * @example startSink({ hooks: { rcpt: (_s, rcpt) => rcpt.address.endsWith('@gone.test') ? { code: 550 } : undefined } })
 */
export interface SinkHooks {
  /** A client connected; a refusal (e.g. `{ code: 554 }`) replaces the greeting. */
  connect?(session: HookSession): HookResult;
  /** HELO, EHLO or LHLO (`command`) with `name`. */
  helo?(session: HookSession, name: string, command: 'HELO' | 'EHLO' | 'LHLO'): HookResult;
  /** The STARTTLS handshake finished; a refusal is sent and the connection ends. */
  secure?(session: HookSession): HookResult;
  /** AUTH decoded these credentials (and the `auth.users` table, if any, accepted them); a refusal fails the AUTH. */
  auth?(session: HookSession, credentials: SaslCredentials): HookResult;
  /** MAIL FROM, after the engine checked its syntax and parameters. */
  mail?(session: HookSession, sender: HookAddress): HookResult;
  /** Each RCPT TO, after the engine checked it. */
  rcpt?(session: HookSession, recipient: HookAddress): HookResult;
  /** DATA, before the 354. */
  data?(session: HookSession): HookResult;
  /** The whole message (DATA or BDAT), before its final reply: the answer is that reply. */
  message?(session: HookSession, message: Buffer, info: HookMessageInfo): HookResult;
  /** The connection closed (no reply): release what the session held. */
  close?(session: HookSession): void;
}

export const HOOK_NAMES = ['connect', 'helo', 'secure', 'auth', 'mail', 'rcpt', 'data', 'message', 'close'] as const;

/** Checks the `hooks` option: an object of functions named after stages. */
export function checkHooks(hooks: unknown, where: string): SinkHooks | undefined {
  if (hooks === undefined) return undefined;
  if (typeof hooks !== 'object' || hooks === null) {
    throw new TypeError(`${where} "hooks" must be an object of functions such as { rcpt(session, recipient) {} }`);
  }
  for (const [name, value] of Object.entries(hooks)) {
    if (!(HOOK_NAMES as readonly string[]).includes(name)) {
      throw new TypeError(`${where} "hooks.${name}" is unknown (hooks: ${HOOK_NAMES.join(', ')})`);
    }
    if (typeof value !== 'function' && value !== undefined) {
      throw new TypeError(`${where} "hooks.${name}" must be a function, got ${typeof value}`);
    }
  }
  return hooks as SinkHooks;
}

/** The replies hooks cause; no text is typed twice. */
export const hookReplies = {
  failed: (stage: string): Reply =>
    reply(451, '4.3.0', `The ${stage} hook failed: try again later (the sink emitted an "error" event with the cause)`),
};

/**
 * The hooks as a `StagePolicy`: one `HookSession` per connection, a synchronous answer decided
 * at once (no promise is made), a pending one handed to the session to wait for.
 */
export class HookPolicy implements StagePolicy {
  readonly wantsHeaders = false;
  readonly wantsMessage: boolean;
  private readonly sessions = new Map<number, HookSession>();

  constructor(
    private readonly hooks: SinkHooks,
    /** Receives what a hook threw or rejected with (the sink's `error` event). */
    private readonly onError: (error: unknown) => void,
  ) {
    this.wantsMessage = typeof hooks.message === 'function';
  }

  decide(context: StageContext, proposed: Reply): Decision | undefined | PromiseLike<Decision | undefined> {
    const stage = context.stage;
    const hooks = this.hooks;
    let result: HookResult;
    try {
      switch (stage) {
        case 'connect':
          if (hooks.connect === undefined) return undefined;
          result = hooks.connect(this.session(context));
          break;
        case 'helo':
          if (hooks.helo === undefined) return undefined;
          result = hooks.helo(
            this.session(context),
            context.heloName ?? '',
            (context.command ?? 'EHLO') as 'HELO' | 'EHLO' | 'LHLO',
          );
          break;
        case 'secure':
          if (hooks.secure === undefined) return undefined;
          result = hooks.secure(this.session(context));
          break;
        case 'auth':
          if (hooks.auth === undefined || context.credentials === undefined) return undefined;
          result = hooks.auth(this.session(context), context.credentials);
          break;
        case 'mail':
          if (hooks.mail === undefined) return undefined;
          result = hooks.mail(this.session(context), {
            address: context.transaction?.sender ?? '',
            parameters: context.parameters ?? [],
          });
          break;
        case 'rcpt':
          if (hooks.rcpt === undefined) return undefined;
          result = hooks.rcpt(this.session(context), {
            address: context.recipient ?? '',
            parameters: context.parameters ?? [],
          });
          break;
        case 'data':
          if (hooks.data === undefined) return undefined;
          result = hooks.data(this.session(context));
          break;
        case 'message':
          if (hooks.message === undefined) return undefined;
          result = hooks.message(this.session(context), context.message ?? Buffer.alloc(0), {
            proposed,
            size: context.transaction?.size ?? 0,
            recipient: context.recipient,
          });
          break;
        default:
          return undefined;
      }
    } catch (error) {
      return this.failed(stage, error);
    }
    if (isPending(result)) {
      return Promise.resolve(result).then(
        (settled) => this.decision(stage, settled),
        (error: unknown) => this.failed(stage, error),
      );
    }
    return this.decision(stage, result);
  }

  /** The connection closed: its `close` hook runs and its session is forgotten. */
  closed(connection: ConnectionInfo): void {
    const known = this.sessions.get(connection.id);
    this.sessions.delete(connection.id);
    if (this.hooks.close === undefined) return;
    // A connection no other hook saw (only a close hook, or a client gone before its greeting) still closes.
    const session = known ?? newSession(connection);
    try {
      const result: unknown = this.hooks.close(session);
      // A close hook may be async: its rejection is reported like a throw, never left unhandled.
      if (isPending(result)) Promise.resolve(result).catch((error: unknown) => this.onError(error));
    } catch (error) {
      this.onError(error);
    }
  }

  private session(context: StageContext): HookSession {
    const connection = context.connection;
    let session = this.sessions.get(connection.id);
    if (session === undefined) {
      session = newSession(connection);
      this.sessions.set(connection.id, session);
    }
    session.heloName = context.heloName;
    session.tls = context.tls;
    session.user = context.user;
    session.transaction = context.transaction;
    return session;
  }

  private decision(stage: string, settled: unknown): Decision | undefined {
    const answer = settled as HookReply | undefined | null;
    if (answer === undefined || answer === null) return undefined;
    if (typeof answer !== 'object' || typeof answer.code !== 'number') {
      return this.failed(
        stage,
        new TypeError(
          `mailhole: the ${stage} hook must return nothing or a reply such as { code: 550, text: 'No such user' }, got ${JSON.stringify(answer)}`,
        ),
      );
    }
    let built: Reply;
    try {
      const text = answer.text;
      built =
        text === undefined || typeof text === 'string'
          ? behaviourReplies.custom(answer.code, answer.enhanced, text)
          : reply(answer.code, answer.enhanced ?? behaviourReplies.custom(answer.code).enhanced, text);
    } catch (error) {
      return this.failed(stage, error);
    }
    return answer.close === true ? { reply: built, then: 'close' } : { reply: built };
  }

  private failed(stage: string, error: unknown): Decision {
    try {
      this.onError(error);
    } catch {
      // An 'error' listener that throws must not take the session with it.
    }
    return { reply: hookReplies.failed(stage) };
  }
}

function newSession(connection: ConnectionInfo): HookSession {
  return {
    id: connection.id,
    connection,
    remoteAddress: connection.remoteAddress,
    heloName: undefined,
    tls: undefined,
    user: undefined,
    transaction: undefined,
    state: {},
  };
}

/** Your hooks first, then your `policy` for what they leave undecided. */
export function chainPolicies(first: StagePolicy, second: StagePolicy): StagePolicy {
  return {
    decide(context, proposed) {
      const decided = first.decide(context, proposed);
      if (isPending(decided)) return decided.then((settled) => settled ?? second.decide(context, proposed));
      return decided ?? second.decide(context, proposed);
    },
    get wantsHeaders() {
      return first.wantsHeaders || second.wantsHeaders;
    },
    get wantsMessage() {
      return (first.wantsMessage ?? false) || (second.wantsMessage ?? false);
    },
  };
}

/** A decision still to come: a promise (or any thenable). A `Decision`'s own `then` is a string, never a function. */
export function isPending<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return value !== undefined && value !== null && typeof (value as PromiseLike<T>).then === 'function';
}
