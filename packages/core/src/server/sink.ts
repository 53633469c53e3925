import { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import type { FaultRules } from '../behaviour/faults.js';
import type { Mode } from '../behaviour/modes.js';
import type { SinkBehaviour } from '../behaviour/policy.js';
import type { ConnectionInfo, FiredFault } from '../protocol/types.js';
import type { CaptureStore } from '../record/capture.js';
import type { CapturedMessage } from '../record/parsed.js';
import type {
  DeliveryFilter,
  DeliveryPredicate,
  Mark,
  Recorder,
  SessionEnd,
  SinkStats,
  WaitOptions,
  WaitTarget,
} from '../record/recorder.js';
import type { DeliveryRecord } from '../record/records.js';
import type { SessionTranscriptRecord, TranscriptOptions, Transcripts } from '../record/transcript.js';
import { sinkClosedError } from '../record/wait.js';
import { writeCaFile } from '../tls/certificates.js';
import { type ClientTlsOverrides, type ClientTlsSettings, clientTlsSettings } from '../tls/client-settings.js';
import type { Connection } from './connection.js';
import type { MailSink, ViewScope } from './mail-sink.js';
import type { ResolvedOptions, SinkOptions } from './options.js';
import type { TlsFault } from './secure-context.js';
import { connectionById, type DropMode, type LiveSession, liveSession } from './sessions.js';
import { listenerUrl } from './url.js';
import { SinkView } from './view.js';

export type { TlsFault } from './secure-context.js';

/** Options of the engine: the sink's, plus TLS faults (`StartOptions` adds the control API). */
export interface EngineOptions extends SinkOptions {
  /** Serve a broken certificate (`expired`, `wrong-host`, `untrusted`) or fail every handshake (`handshake`). */
  tlsFault?: TlsFault;
  /**
   * Keep the command/reply transcript of each session (`sink.transcript(connectionId)`, the web
   * inbox): `true`, or bounds `{ maxBytes, maxSessions }` (16384 characters a session, 1000
   * sessions by default; past them the middle of a long session, then the oldest finished
   * sessions, are dropped). Default: on when `api` is on, off otherwise (it costs a little per command).
   */
  transcripts?: TranscriptOptions | boolean;
  /** @internal node:cluster workers share one listening socket (`mailhole serve --workers`). */
  clusterShared?: boolean;
}

/**
 * @internal A service composed onto a sink one floor up (the control API): the sink reports its URL
 * and closes it with itself, without knowing what it is.
 */
export interface AttachedService {
  readonly url: string;
  close(): Promise<void>;
}

/** Settings a TLS client needs to verify the sink, ready for nodemailer's `tls` option. */
export type { ClientTlsOverrides, ClientTlsSettings } from '../tls/client-settings.js';

/** Events a sink emits, with what their listeners receive. */
export interface SinkEventMap {
  delivery: [record: DeliveryRecord];
  connection: [connection: ConnectionInfo];
  disconnect: [end: SessionEnd];
  transaction: [transaction: { sender: string; connectionId: number }];
  recipient: [recipient: { address: string; accepted: boolean; reply: string; connectionId: number }];
  fault: [fault: FiredFault & { connectionId: number }];
  error: [error: unknown];
}

/** Names of the events a sink emits. */
export type SinkEvent = keyof SinkEventMap;

/**
 * A running SMTP sink: accepts mail, counts it, forgets it (or keeps what `capture` asks).
 *
 * @example
 * const sink = await startSink(); // smtp://127.0.0.1:<random port>
 * await sendSomeMail(sink.port); await sink.waitFor(1); await sink.close();
 */
export class Sink implements MailSink<'in-process'> {
  /** Bound address, e.g. `127.0.0.1`. */
  readonly host: string;
  /** Bound plain-SMTP (or LMTP) port. */
  readonly port: number;
  /** Implicit-TLS port, with `tls: 'implicit' | 'both'`. */
  readonly tlsPort: number | undefined;
  /** PEM of the CA that signed the server certificate, with TLS on. */
  readonly ca: string | undefined;
  /** The options in force, defaults applied. */
  readonly options: Readonly<ResolvedOptions>;
  /** @internal counts, records and events of this sink: read them through the sink's methods and `on()` */
  readonly recorder: Recorder;

  private readonly servers: Server[];
  private readonly connections = new Set<Connection>();
  /** @internal implicit-TLS sockets still in their handshake */
  readonly connectionsPending = new Set<{ shutdown(): void }>();
  /** @internal connections refused by maxConnections, in their grace period before being destroyed */
  readonly refusedSockets = new Set<Socket>();
  private closing: Promise<void> | undefined;
  private readonly events = new EventEmitter();
  /** @internal kept message content, with capture `full` */
  captureStore: CaptureStore | undefined;
  /** @internal the control API, when started with `api` (attached by `startSink` in start.ts) */
  controlApi: AttachedService | undefined;
  /** @internal session transcripts, when kept (option `transcripts`) */
  transcripts: Transcripts | undefined;
  /** @internal modes, delays, fault rules and AUTH, built from the options */
  behaviour!: SinkBehaviour;

  /** @internal use `startSink` */
  constructor(
    options: ResolvedOptions,
    recorder: Recorder,
    servers: Server[],
    addresses: { host: string; port: number; tlsPort: number | undefined },
    ca: string | undefined,
    /** The name a TLS client must verify: localhost for generated certificates. */
    private readonly servername: string,
  ) {
    this.options = options;
    this.recorder = recorder;
    this.servers = servers;
    this.host = addresses.host;
    this.port = addresses.port;
    this.tlsPort = addresses.tlsPort;
    this.ca = ca;
  }

  /**
   * Fault rules, added and removed while the sink runs; each firing is recorded with the delivery,
   * in `stats().faults`, the `fault` event and `sink.faults.fired()`.
   *
   * @example sink.faults.failNext(451); sink.faults.greylist(); sink.faults.add({ stage: 'rcpt', action: '550' });
   */
  get faults(): FaultRules {
    return this.behaviour.faults;
  }

  /** Seed of every random choice (mode `random`, delay ranges, fault probabilities): pass it as `seed` to repeat a run. */
  get seed(): number {
    return this.behaviour.seed;
  }

  /** `smtp://host:port` (or `lmtp://`) of the plain listener. */
  get url(): string {
    return listenerUrl(this.options.lmtp ? 'lmtp' : 'smtp', this.host, this.port);
  }

  /** `smtps://host:tlsPort` of the implicit-TLS listener, when there is one. */
  get tlsUrl(): string | undefined {
    return this.tlsPort === undefined ? undefined : listenerUrl('smtps', this.host, this.tlsPort);
  }

  /** Accepted deliveries: messages whose final reply to DATA or BDAT LAST was 2xx. */
  get accepted(): number {
    return this.recorder.accepted;
  }

  /** Base URL of the control API (`http://127.0.0.1:<port>`), when started with `api`. */
  get apiUrl(): string | undefined {
    return this.controlApi?.url;
  }

  /**
   * URL of the web inbox (`<apiUrl>/`), when started with `api`: open it in a browser to watch
   * deliveries and their sessions live.
   *
   * @example const sink = await startSink({ api: true, capture: 'full' }); console.log(sink.inboxUrl);
   */
  get inboxUrl(): string | undefined {
    return this.controlApi === undefined ? undefined : `${this.controlApi.url}/`;
  }

  /**
   * The command/reply transcript of a session, by connection id (`record.connectionId`), when
   * transcripts are kept (option `transcripts`, on with `api`).
   *
   * @example const t = sink.transcript(sink.deliveries()[0].connectionId); console.log(t?.tls?.protocol);
   */
  transcript(connectionId: number): SessionTranscriptRecord | undefined {
    return this.transcripts?.get(connectionId);
  }

  /**
   * Switches the sink-wide mode (`accept`, `bounce`, `random`) while it runs; the next final reply
   * follows it. Listeners given their own mode keep it.
   *
   * @example sink.setMode('bounce'); sink.setMode('random', 0.8);
   */
  setMode(mode: Mode, acceptRatio?: number): void {
    this.behaviour.setMode(mode, acceptRatio);
  }

  /**
   * Kept messages (capture `full`) of the accepted deliveries matching the filter, oldest first.
   *
   * @example const [m] = sink.messages({ to: 'bob@test' }); const { subject, attachments } = await m.parsed();
   */
  messages(filter?: DeliveryFilter | DeliveryPredicate): CapturedMessage[] {
    return this.captureStore?.messagesOf(this.recorder.deliveries(filter)) ?? [];
  }

  /** The kept message (capture `full`) of a delivery, by id (`record.id`, also quoted in the 250 reply). */
  message(id: string): CapturedMessage | undefined {
    return this.captureStore?.message(id);
  }

  /** Every counter (a copy). */
  stats(): SinkStats {
    return this.recorder.stats();
  }

  /** A point in this sink's history, to count or wait for what comes after it. */
  mark(): Mark {
    return this.recorder.mark();
  }

  /** Accepted deliveries after `mark` (exact, even when old records were dropped). */
  acceptedSince(mark: Mark): number {
    return this.recorder.acceptedSince(mark);
  }

  /**
   * A per-test window: counts only what comes after now, optionally only mail to/from an address.
   *
   * @example const mine = sink.view({ to: 'user-7@test' }); await send(); await mine.waitFor(1);
   */
  view(scope?: ViewScope): SinkView {
    return new SinkView(this.recorder, this, scope);
  }

  /** Kept delivery records (accepted ones unless the filter says `includeRejected`), oldest first. */
  deliveries(filter?: DeliveryFilter | DeliveryPredicate): DeliveryRecord[] {
    return this.recorder.deliveries(filter);
  }

  /**
   * Resolves when `target` is reached: a number of accepted deliveries, or a predicate/filter
   * matching accepted deliveries. Rejects after `timeout` ms (default 3000, `DEFAULT_WAIT_MS`) with a `WaitTimeoutError` saying what arrived.
   *
   * @example await sink.waitFor(2, { timeout: 1000 });
   */
  waitFor(target: WaitTarget, options?: WaitOptions): Promise<DeliveryRecord[]> {
    return this.recorder.waitFor(target, options);
  }

  /** Zeroes the counters and forgets the records. */
  reset(): void {
    this.recorder.reset();
    this.captureStore?.clear();
    this.transcripts?.clear();
  }

  /** A human-readable report of what the sink saw (for failing assertions). */
  describe(): string {
    const report = this.recorder.describe();
    return this.behaviour.usesRandom ? `${report}\nRandom choices used seed ${this.seed} (option seed).` : report;
  }

  /** TLS settings for a client that verifies this sink, e.g. nodemailer's `tls` option. */
  clientTls(overrides?: ClientTlsOverrides): ClientTlsSettings {
    if (this.ca === undefined) {
      throw new Error('sink.clientTls(): this sink has no TLS; start it with tls: "starttls", "implicit" or "both"');
    }
    return clientTlsSettings(this.ca, this.servername, this.options.minTlsVersion, overrides);
  }

  /** Writes the CA (PEM) to `path` for non-Node clients (curl --cacert, swaks --tls-ca-path); returns the absolute path. */
  writeCa(path: string): Promise<string> {
    if (this.ca === undefined) {
      return Promise.reject(
        new Error('sink.writeCa(): this sink has no TLS; start it with tls: "starttls", "implicit" or "both"'),
      );
    }
    return writeCaFile(this.ca, path);
  }

  /**
   * Subscribes to `delivery` (a DeliveryRecord), `connection`, `disconnect`, `transaction`,
   * `recipient`, `fault` or `error`.
   *
   * @example sink.on('delivery', (record: DeliveryRecord) => console.log(record.recipients));
   */
  on<E extends SinkEvent>(event: E, listener: (...args: SinkEventMap[E]) => void): this {
    const callback = listener as (...args: unknown[]) => void;
    if (event === 'error') this.events.on(event, callback);
    else this.recorder.on(event, callback);
    return this;
  }

  /** Removes a listener added with `on`. */
  off<E extends SinkEvent>(event: E, listener: (...args: SinkEventMap[E]) => void): this {
    const callback = listener as (...args: unknown[]) => void;
    if (event === 'error') this.events.off(event, callback);
    else this.recorder.off(event, callback);
    return this;
  }

  /**
   * The sessions open right now: connection, greeting name, TLS, user, the transaction in progress.
   *
   * @example const busy = sink.sessions().filter((s) => s.inMessage);
   */
  sessions(): LiveSession[] {
    return [...this.connections].map(liveSession);
  }

  /**
   * Ends one live session at once, as a lost connection would (`reset`, the default: a TCP RST;
   * `close`: a FIN, no reply; `421`: the closing reply first). Returns false when no session has that id.
   *
   * @example sink.on('recipient', (r) => sink.dropSession(r.connectionId)); // lost mid-transaction
   */
  dropSession(id: number, how: DropMode = 'reset'): boolean {
    if (how !== 'reset' && how !== 'close' && how !== '421') {
      throw new TypeError(`dropSession: "how" must be "reset", "close" or "421", got ${JSON.stringify(how)}`);
    }
    const connection = connectionById(this.connections, id);
    if (connection === undefined) return false;
    connection.drop(how);
    return true;
  }

  /** Open connections right now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Stops listening, sends `421` to every open session and destroys its socket. Resolves in
   * milliseconds, idle pooled clients included, and leaves no handle or timer behind.
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      let pending = this.servers.length;
      const done = (): void => {
        if (--pending === 0) resolve();
      };
      for (const server of this.servers) server.close(done);
      for (const connection of [...this.connections]) connection.shutdown();
      for (const pending of [...this.connectionsPending]) pending.shutdown();
      // Their 421 is already written; waiting out the grace period would hold close() for a second.
      for (const socket of [...this.refusedSockets]) socket.destroy();
      this.recorder.failWaiters(sinkClosedError());
      if (this.controlApi !== undefined) {
        pending++;
        this.controlApi.close().then(done, done);
      }
      // Resolve only once every session's end is recorded, so describe() right after close() tells all.
      pending++;
      this.whenDrained(done);
      if (pending === 0) resolve();
    });
    return this.closing;
  }

  private drainWaiters: Array<() => void> = [];
  private whenDrained(callback: () => void): void {
    if (this.connections.size === 0) callback();
    else this.drainWaiters.push(callback);
  }

  /** @internal */
  adopt(connection: Connection): void {
    this.connections.add(connection);
  }

  /** @internal */
  release(connection: Connection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const callback of waiters) callback();
    }
  }

  /** @internal */
  get closingStarted(): boolean {
    return this.closing !== undefined;
  }

  /** @internal */
  emitError(error: unknown): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', error);
    else process.emitWarning(`mailhole: internal error in a session: ${(error as Error)?.stack ?? String(error)}`);
  }
}
