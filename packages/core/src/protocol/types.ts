import type { EsmtpParameter } from './address.js';
import type { Reply } from './reply.js';

/**
 * The points of a session at which the sink decides what to answer. Behaviours (modes, delays,
 * faults) attach to these; `message` is the final reply to DATA or BDAT LAST; `secure` follows a
 * finished STARTTLS handshake and sends nothing unless its decision refuses (then it closes).
 */
export type Stage =
  | 'connect'
  | 'helo'
  | 'starttls'
  | 'secure'
  | 'auth'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'message'
  | 'rset'
  | 'quit';

/** Declared body type from `MAIL FROM:<…> BODY=…` (RFC 6152, RFC 3030). */
export type BodyType = '7BIT' | '8BITMIME' | 'BINARYMIME';

/** TLS details of a session, recorded with each delivery so a test can assert mail went over TLS. */
export interface TlsInfo {
  /** e.g. `TLSv1.3` */
  protocol: string;
  /** OpenSSL cipher name, e.g. `TLS_AES_256_GCM_SHA384` */
  cipher: string;
  /** `starttls` when upgraded in-session, `implicit` when TLS from the first byte (RFC 8314). */
  mode: 'starttls' | 'implicit';
  /** The name the client asked for with SNI (RFC 6066), when it sent one. */
  servername?: string;
}

/** What the session knows of its connection; filled in by the server. */
export interface ConnectionInfo {
  /** Sink-unique number of the connection. */
  id: number;
  remoteAddress: string;
  remotePort: number;
  localPort: number;
  /** Name of the listener that accepted it: `smtp`, `smtps` (implicit TLS) or `lmtp`. */
  listener: string;
}

/** A recipient as the client gave it in `RCPT TO`. */
export interface Recipient {
  address: string;
  /** RFC 3461 NOTIFY values, upper-cased, when given. */
  notify?: string[];
  /** RFC 3461 ORCPT value, when given. */
  orcpt?: string;
}

/** The envelope of one mail transaction as it builds up (RFC 5321 §3.3). */
export interface Transaction {
  /** Reverse-path: `''` for the null sender `<>`. */
  sender: string;
  recipients: Recipient[];
  /** Recipients the sink refused, with the reply each got: the first `maxRejectedRecipients`. */
  rejectedRecipients: Array<{ address: string; reply: Reply }>;
  /** Refused recipients beyond `maxRejectedRecipients`: counted, not kept. */
  rejectedRecipientsOmitted: number;
  body: BodyType;
  smtputf8: boolean;
  /** SIZE declared on MAIL FROM, when given. */
  declaredSize?: number;
  /** RFC 3461 RET and ENVID, when given. */
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  /** Message octets received so far (after dot-unstuffing). */
  size: number;
  /** RFC 8689 REQUIRETLS was given on MAIL FROM. */
  requireTls?: boolean;
  /** Every ESMTP parameter of `MAIL FROM` as sent (names upper-cased), the ones the engine reads included. */
  parameters: EsmtpParameter[];
}

/** Everything a behaviour may look at when asked to decide a stage's reply. */
export interface StageContext {
  stage: Stage;
  connection: ConnectionInfo;
  /** HELO/EHLO/LHLO argument, once given (at stage `helo`, the one being given). */
  heloName: string | undefined;
  tls: TlsInfo | undefined;
  /** Authenticated user, once AUTH succeeded. */
  user: string | undefined;
  transaction: Transaction | undefined;
  /** The recipient being decided (stage `rcpt`; and stage `message` under LMTP, one per recipient). */
  recipient: string | undefined;
  /** The header section of the message (stage `message`), raw, when a behaviour asked for it. */
  headers: Buffer | undefined;
  /** The whole message (stage `message`), as received after dot-unstuffing, when the policy asked for it (`wantsMessage`). */
  message?: Buffer | undefined;
  /** What the client sent in its AUTH exchange (stage `auth`), decoded. */
  credentials?: SaslCredentials | undefined;
  /** The raw ESMTP parameters of the command being decided (stages `mail` and `rcpt`). */
  parameters?: EsmtpParameter[] | undefined;
  /** The greeting command being decided (stage `helo`): `HELO`, `EHLO` or `LHLO`. */
  command?: string | undefined;
}

/** What a behaviour answers for a stage; every field is optional, `undefined` keeps the default. */
export interface Decision {
  /** Replaces the reply the engine would send. */
  reply?: Reply;
  /** Milliseconds to wait before the reply goes out (other sessions are never blocked). */
  delayMs?: number;
  /** After the reply: `close` ends the connection; `reset` destroys it at once, without the reply. */
  then?: 'close' | 'reset' | 'silent-close';
  /** Connection-level trouble that starts with this stage. */
  throttleBytesPerSecond?: number;
  /** Stop reading the socket after this many more bytes (a stalled server). */
  stallAfterBytes?: number;
  /** A description of the fault that produced this decision, recorded with the delivery. */
  fault?: FiredFault;
  /** What made this decision, in words (`mode bounce`, `header X-Mailhole-Mode: bounce`), for the session transcript. */
  decidedBy?: string;
}

/** A fault rule that fired, as recorded with the session and the delivery. */
export interface FiredFault {
  rule: string;
  stage: Stage;
  action: string;
  at: number;
}

/**
 * Asked by the session at each stage. It never throws. It answers synchronously (the fast path)
 * or with a promise: the session then waits, answering nothing else (pipelined commands keep
 * their turn), until it settles. A promise must never reject: turn a failure into a decision.
 */
export interface StagePolicy {
  decide(context: StageContext, proposed: Reply): Decision | undefined | PromiseLike<Decision | undefined>;
  /** When true, the session keeps the message header section (bounded) for `decide('message')`. */
  readonly wantsHeaders: boolean;
  /** When true, the session keeps the whole message (bounded by `maxMessageSize`) for `decide('message')`. */
  readonly wantsMessage?: boolean;
}

/**
 * Credentials decoded from a SASL exchange (RFC 4954), as a hook sees them.
 *
 * @example if (credentials.mechanism === 'CRAM-MD5') ok = credentials.validatePassword('s3cret');
 */
export interface SaslCredentials {
  mechanism: string;
  /** The authentication identity (PLAIN authcid, LOGIN user, CRAM-MD5 user, XOAUTH2 `user=`). */
  username: string;
  /** PLAIN and LOGIN: the password as sent. */
  password?: string;
  /** PLAIN: the authorization identity, when one was given. */
  authzid?: string;
  /** XOAUTH2: the bearer token. */
  accessToken?: string;
  /** CRAM-MD5: the challenge the server sent. */
  challenge?: string;
  /** CRAM-MD5: the hex HMAC-MD5 digest the client answered. */
  challengeResponse?: string;
  /** True when `password` is the secret (PLAIN, LOGIN), or the CRAM-MD5 digest matches it (constant time). */
  validatePassword(password: string): boolean;
}

/** One step of a SASL exchange (RFC 4954); a finished one may carry the decoded credentials for the `auth` stage. */
export type SaslStep = { challenge: string } | { user: string; credentials?: SaslCredentials } | { reject: Reply };

/** One AUTH attempt: `respond(null)` is called first when the client sent no initial response. */
export interface SaslExchange {
  respond(response: string | null): SaslStep;
}

/** AUTH policy, implemented in `behaviour/`. */
export interface AuthProvider {
  /** Mechanisms to advertise, e.g. `['PLAIN', 'LOGIN']`. */
  readonly mechanisms: readonly string[];
  /** MAIL before a successful AUTH gets 530 5.7.0. */
  readonly required: boolean;
  /** AUTH before TLS gets 538 5.7.11. */
  readonly requireTls: boolean;
  begin(mechanism: string, context: StageContext): SaslExchange | undefined;
}

/** Receives message octets as they stream in; the capture layer implements it. */
export interface MessageWriter {
  write(chunk: Buffer): void;
}

/** The final outcome of one transaction, produced with the final reply. */
export interface Delivery {
  /** Sink-unique id, also in the 250 reply text so logs and tests can match them. */
  id: string;
  accepted: boolean;
  sender: string;
  /** Accepted envelope recipients (BCC included: it is the envelope). */
  recipients: string[];
  recipientDetails: Recipient[];
  rejectedRecipients: Array<{ address: string; reply: Reply }>;
  /** Refused recipients beyond `maxRejectedRecipients`: counted, not kept. */
  rejectedRecipientsOmitted: number;
  /** Message octets after dot-unstuffing. */
  size: number;
  body: BodyType;
  smtputf8: boolean;
  envid?: string;
  ret?: 'FULL' | 'HDRS';
  /** The final reply the client got. */
  reply: Reply;
  /** Per-recipient final replies under LMTP (RFC 2033), in recipient order. */
  lmtpReplies?: Array<{ address: string; reply: Reply }>;
  /** `DATA` or `BDAT`. */
  via: 'DATA' | 'BDAT';
  heloName: string | undefined;
  tls: TlsInfo | undefined;
  user: string | undefined;
  connection: ConnectionInfo;
  /** `Date.now()` when the final reply was decided. */
  time: number;
  /** Faults that fired during this transaction (the first 100; all are counted in the stats and `fired()`). */
  faults: FiredFault[];
  /** Header section (raw), kept when a behaviour or capture asked for it. */
  headers?: Buffer;
  /** Capture writer that received the octets, when capture is on. */
  writer?: MessageWriter;
}

/**
 * Receives the conversation of one session as it happens, when the sink keeps transcripts
 * (`record/transcript.ts`). AUTH secrets never reach it: the session masks them first.
 */
export interface SessionTranscript {
  /** A command line from the client (SASL responses and AUTH initial responses masked). */
  command(text: string): void;
  /** A reply the session sends, and what decided it when a behaviour did. */
  reply(reply: Reply, decidedBy: string | undefined): void;
  /** Something that happened between commands: message octets received, TLS established, AUTH result. */
  note(text: string): void;
  /** TLS is in force (STARTTLS finished, or implicit TLS). */
  tls(info: TlsInfo): void;
  /** AUTH succeeded. */
  authenticated(mechanism: string, user: string): void;
}

/** Synchronous notifications from a session; the recorder implements it. */
export interface SessionObserver {
  transactionStarted(transaction: Transaction, connection: ConnectionInfo): void;
  recipient(address: string, accepted: boolean, reply: Reply, connection: ConnectionInfo): void;
  /** A writer for the message of this transaction, or `undefined` when content is not kept. */
  messageWriter(transaction: Transaction, connection: ConnectionInfo): MessageWriter | undefined;
  /** A reply that refused a command (4xx/5xx), for "what the last session saw". */
  refused(command: string, reply: Reply, connection: ConnectionInfo): void;
  faultFired(fault: FiredFault, connection: ConnectionInfo): void;
}

/** What the session asks its connection to do, in order. */
export type SessionOutput =
  | { type: 'reply'; reply: Reply; delivery?: Delivery }
  | { type: 'delay'; ms: number }
  | { type: 'close' }
  | { type: 'reset' }
  | { type: 'starttls' }
  | { type: 'throttle'; bytesPerSecond: number }
  | { type: 'stall'; afterBytes: number }
  /**
   * A decision is pending: read nothing more, wait for `decision` (bounded by the command deadline),
   * then hand its value to `session.settle`. Later output follows in order.
   */
  | { type: 'await'; decision: PromiseLike<Decision | undefined>; stage: Stage };
