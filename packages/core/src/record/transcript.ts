import { formatReply, type Reply } from '../protocol/reply.js';
import type { ConnectionInfo, SessionTranscript, TlsInfo } from '../protocol/types.js';

/** Bounds of the session transcripts a sink keeps (option `transcripts`). */
export interface TranscriptOptions {
  /**
   * Characters of one session's transcript kept at most. Default 16384. Past it, the middle of the
   * session is dropped (and counted): its start (greeting, EHLO, STARTTLS, AUTH) and its latest
   * lines stay.
   */
  maxBytes?: number;
  /** Sessions whose transcript is kept at most; the oldest finished ones go first. Default 1000. */
  maxSessions?: number;
}

/** One line of a transcript. */
export interface TranscriptEntry {
  /** Milliseconds since the epoch. */
  at: number;
  /** `client`: a command; `server`: a reply; `note`: what happened between them. */
  from: 'client' | 'server' | 'note';
  /** The command line, the reply (all its lines), or the note; AUTH secrets as `<masked>`. */
  text: string;
  /** For a reply: the fault rule, mode, header switch or delay that decided it. */
  decidedBy?: string;
}

/** The conversation of one SMTP session, as `GET /api/sessions/:id` answers it. */
export interface SessionTranscriptRecord {
  /** The session's connection id (`record.connectionId` of its deliveries). */
  connectionId: number;
  /** The client's address and port. */
  client: { address: string; port: number };
  /** Name of the listener that accepted it: `smtp`, `smtps` (implicit TLS) or `lmtp`. */
  listener: string;
  /** When the connection was accepted (ms since the epoch). */
  startedAt: number;
  /** When the connection closed; absent while it is open. */
  endedAt?: number;
  /** TLS in force (STARTTLS or implicit), with the SNI name the client asked for. */
  tls?: TlsInfo;
  /** The AUTH mechanism and user, once AUTH succeeded. */
  auth?: { mechanism: string; user: string };
  /** The first lines of the session. */
  head: TranscriptEntry[];
  /** Lines dropped between `head` and `tail` to stay within `maxBytes`. */
  omitted: number;
  /** The latest lines. */
  tail: TranscriptEntry[];
}

export const DEFAULT_TRANSCRIPT_BYTES = 16 * 1024;
export const DEFAULT_TRANSCRIPT_SESSIONS = 1000;
/** One line is cut past this: an EHLO reply fits, a 10 kB SASL blob does not need to. */
const MAX_LINE = 1000;
/** Fixed cost counted per entry, so a flood of empty lines is bounded too. */
const ENTRY_OVERHEAD = 16;

/** Checks the `transcripts` option; errors name it. */
export function resolveTranscriptOptions(value: TranscriptOptions | boolean | undefined): Required<TranscriptOptions> {
  const options = typeof value === 'object' && value !== null ? value : {};
  if (value !== undefined && typeof value !== 'boolean' && (typeof value !== 'object' || value === null)) {
    throw new TypeError(
      `startSink: option "transcripts" must be true, false or { maxBytes, maxSessions }, got ${JSON.stringify(value)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (key !== 'maxBytes' && key !== 'maxSessions') {
      throw new TypeError(`startSink: unknown option "transcripts.${key}" (known: maxBytes, maxSessions)`);
    }
  }
  const maxBytes = options.maxBytes ?? DEFAULT_TRANSCRIPT_BYTES;
  const maxSessions = options.maxSessions ?? DEFAULT_TRANSCRIPT_SESSIONS;
  if (!Number.isInteger(maxBytes) || maxBytes < 256) {
    throw new RangeError(
      `startSink: option "transcripts.maxBytes" must be a whole number of at least 256, got ${JSON.stringify(maxBytes)}`,
    );
  }
  if (!Number.isInteger(maxSessions) || maxSessions < 1) {
    throw new RangeError(
      `startSink: option "transcripts.maxSessions" must be a whole number of at least 1, got ${JSON.stringify(maxSessions)}`,
    );
  }
  return { maxBytes, maxSessions };
}

/** The transcript of one session: a head kept whole and a rolling tail, within a byte budget. */
class Transcript implements SessionTranscript {
  private readonly head: TranscriptEntry[] = [];
  private headBytes = 0;
  private tail: TranscriptEntry[] = [];
  private tailStart = 0;
  private tailBytes = 0;
  private omitted = 0;
  private tlsInfo: TlsInfo | undefined;
  private auth: { mechanism: string; user: string } | undefined;
  readonly startedAt = Date.now();
  endedAt: number | undefined;

  constructor(
    readonly connection: ConnectionInfo,
    private readonly maxBytes: number,
  ) {}

  command(text: string): void {
    this.add('client', text, undefined);
  }

  reply(reply: Reply, decidedBy: string | undefined): void {
    // Every line of a multi-line reply (EHLO's keywords), as the client read them.
    this.add('server', formatReply(reply).trimEnd().replace(/\r\n/g, '\n'), decidedBy);
  }

  note(text: string): void {
    this.add('note', text, undefined);
  }

  tls(info: TlsInfo): void {
    this.tlsInfo = info;
    const sni = info.servername === undefined ? 'no SNI' : `SNI ${info.servername}`;
    this.add('note', `TLS established (${info.mode}): ${info.protocol}, ${info.cipher}, ${sni}`, undefined);
  }

  authenticated(mechanism: string, user: string): void {
    this.auth = { mechanism, user };
    this.add('note', `authenticated as ${JSON.stringify(user)} with ${mechanism}`, undefined);
  }

  private add(from: TranscriptEntry['from'], text: string, decidedBy: string | undefined): void {
    const line = text.length > MAX_LINE ? `${text.slice(0, MAX_LINE)}… (${text.length} characters)` : text;
    const entry: TranscriptEntry =
      decidedBy === undefined ? { at: Date.now(), from, text: line } : { at: Date.now(), from, text: line, decidedBy };
    const size = ENTRY_OVERHEAD + line.length + (decidedBy?.length ?? 0);
    // The first half of the budget keeps the start of the session; the second half rolls.
    if (this.omitted === 0 && this.tail.length === 0 && this.headBytes + size <= this.maxBytes / 2) {
      this.head.push(entry);
      this.headBytes += size;
      return;
    }
    this.tail.push(entry);
    this.tailBytes += size;
    while (this.tailBytes > this.maxBytes / 2 && this.tailStart < this.tail.length) {
      const dropped = this.tail[this.tailStart++] as TranscriptEntry;
      this.tailBytes -= ENTRY_OVERHEAD + dropped.text.length + (dropped.decidedBy?.length ?? 0);
      this.omitted++;
    }
    // Compacted now and then, so dropping from the front stays O(1) amortised.
    if (this.tailStart > 64 && this.tailStart * 2 > this.tail.length) {
      this.tail = this.tail.slice(this.tailStart);
      this.tailStart = 0;
    }
  }

  toRecord(): SessionTranscriptRecord {
    const c = this.connection;
    const record: SessionTranscriptRecord = {
      connectionId: c.id,
      client: { address: c.remoteAddress, port: c.remotePort },
      listener: c.listener,
      startedAt: this.startedAt,
      head: [...this.head],
      omitted: this.omitted,
      tail: this.tail.slice(this.tailStart),
    };
    if (this.endedAt !== undefined) record.endedAt = this.endedAt;
    if (this.tlsInfo !== undefined) record.tls = this.tlsInfo;
    if (this.auth !== undefined) record.auth = this.auth;
    return record;
  }
}

/**
 * The transcripts of a sink's sessions: commands, replies (with what decided them), TLS and AUTH.
 * Bounded twice: `maxBytes` per session, `maxSessions` sessions (the oldest finished ones go first).
 *
 * @example const transcripts = new Transcripts({}); session.transcript = transcripts.open(connection);
 */
export class Transcripts {
  private readonly sessions = new Map<number, Transcript>();
  private readonly options: Required<TranscriptOptions>;

  constructor(options: TranscriptOptions | boolean | undefined) {
    this.options = resolveTranscriptOptions(options);
  }

  /** Starts the transcript of a new session. */
  open(connection: ConnectionInfo): SessionTranscript {
    const transcript = new Transcript(connection, this.options.maxBytes);
    this.sessions.set(connection.id, transcript);
    if (this.sessions.size > this.options.maxSessions) this.evict();
    return transcript;
  }

  /** The session ended: its transcript may now be dropped to make room. */
  closed(connectionId: number): void {
    const transcript = this.sessions.get(connectionId);
    if (transcript !== undefined) transcript.endedAt = Date.now();
  }

  /** The transcript of a session, by connection id (`record.connectionId`). */
  get(connectionId: number): SessionTranscriptRecord | undefined {
    return this.sessions.get(connectionId)?.toRecord();
  }

  /** Forgets every finished session's transcript (`sink.reset()`). */
  clear(): void {
    for (const [id, transcript] of this.sessions) if (transcript.endedAt !== undefined) this.sessions.delete(id);
  }

  private evict(): void {
    // Map order is opening order: the oldest finished sessions go first; open ones only when all are open.
    for (const [id, transcript] of this.sessions) {
      if (this.sessions.size <= this.options.maxSessions) return;
      if (transcript.endedAt !== undefined) this.sessions.delete(id);
    }
    for (const id of this.sessions.keys()) {
      if (this.sessions.size <= this.options.maxSessions) return;
      this.sessions.delete(id);
    }
  }
}
