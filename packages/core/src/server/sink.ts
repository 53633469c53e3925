import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { clearTimeout, setTimeout } from 'node:timers';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import type { FaultRules } from '../behaviour/faults.js';
import type { Mode } from '../behaviour/modes.js';
import { SinkBehaviour } from '../behaviour/policy.js';
import { type ControlApiOptions, type ControlServer, serveControlApi } from '../control/api.js';
import { sinkTarget } from '../control/target.js';
import { replies } from '../protocol/replies.js';
import { encodeReply } from '../protocol/reply.js';
import { type SessionOptions, SmtpSession } from '../protocol/session.js';
import type { ConnectionInfo, FiredFault, TlsInfo } from '../protocol/types.js';
import { CaptureStore } from '../record/capture.js';
import type { CapturedMessage } from '../record/parsed.js';
import {
  type DeliveryFilter,
  type DeliveryPredicate,
  type Mark,
  Recorder,
  type SessionEnd,
  type SinkStats,
  type WaitOptions,
  type WaitTarget,
} from '../record/recorder.js';
import type { DeliveryRecord } from '../record/records.js';
import { type SessionTranscriptRecord, type TranscriptOptions, Transcripts } from '../record/transcript.js';
import { SinkView, type ViewScope } from '../record/view.js';
import { type CertificateFault, faultCertificate, testCertificate, writeCaFile } from '../tls/certificates.js';
import { type ClientTlsOverrides, type ClientTlsSettings, clientTlsSettings } from '../tls/client-settings.js';
import { refuseHandshake } from '../tls/handshake-fault.js';
import { serverNameFor } from '../tls/server-name.js';
import { AddressLimit } from './address-limit.js';
import { Connection, type ConnectionHost } from './connection.js';
import { type ResolvedOptions, resolveOptions, type SinkOptions } from './options.js';

/** A TLS fault to serve, to prove a client refuses a bad server. */
export type TlsFault = CertificateFault | 'handshake';

/** Options of `startSink`: the engine's, plus TLS faults. */
export interface StartOptions extends SinkOptions {
  /** Serve a broken certificate (`expired`, `wrong-host`, `untrusted`) or fail every handshake (`handshake`). */
  tlsFault?: TlsFault;
  /**
   * Serve the HTTP control API too (`true`: on 127.0.0.1, any free port); read its URL from `sink.apiUrl`.
   * Another process reaches the sink with `connectSink(sink.apiUrl)`.
   */
  api?: ControlApiOptions | boolean;
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

let sinkCounter = 0;

/**
 * A running SMTP sink: accepts mail, counts it, forgets it (or keeps what `capture` asks).
 *
 * @example
 * const sink = await startSink(); // smtp://127.0.0.1:<random port>
 * await sendSomeMail(sink.port); await sink.waitFor(1); await sink.close();
 */
export class Sink {
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
  /** Counts, records and events of this sink. */
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
  /** @internal the control API, when started with `api` */
  controlApi: ControlServer | undefined;
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
    return `${this.options.lmtp ? 'lmtp' : 'smtp'}://${urlHost(this.host)}:${this.port}`;
  }

  /** `smtps://host:tlsPort` of the implicit-TLS listener, when there is one. */
  get tlsUrl(): string | undefined {
    return this.tlsPort === undefined ? undefined : `smtps://${urlHost(this.host)}:${this.tlsPort}`;
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
   * matching accepted deliveries. Rejects after `timeout` ms (default 3000) saying what arrived.
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
      this.recorder.failWaiters(new Error('waitFor: the sink was closed before the wait was satisfied'));
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

/**
 * Starts a sink and resolves once every listener is bound.
 *
 * @example
 * const sink = await startSink({ tls: 'starttls' });
 * // nodemailer: createTransport({ host: sink.host, port: sink.port, requireTLS: true, tls: sink.clientTls() })
 */
export async function startSink(options: StartOptions = {}): Promise<Sink> {
  const { tlsFault, api, clusterShared, transcripts: transcriptOption, ...rest } = options;
  const transcripts =
    (transcriptOption ?? (api !== undefined && api !== false)) === false
      ? undefined
      : new Transcripts(transcriptOption);
  const resolved = resolveOptions(rest);
  if (tlsFault !== undefined && !['expired', 'wrong-host', 'untrusted', 'handshake'].includes(tlsFault)) {
    throw new TypeError(
      `startSink: option "tlsFault" must be "expired", "wrong-host", "untrusted" or "handshake", got ${JSON.stringify(tlsFault)}`,
    );
  }
  if (tlsFault !== undefined && resolved.tls === 'none') {
    throw new TypeError('startSink: option "tlsFault" needs TLS: set tls to "starttls", "implicit" or "both"');
  }

  let context: SecureContext | undefined;
  let ca: string | undefined;
  let servername = 'localhost';
  if (resolved.tls !== 'none') {
    const material = await certificateFor(resolved, tlsFault);
    ca = material.ca;
    context = secureContextFor(material, resolved);
    // Generated certificates (faulty ones included: wrong-host must be checked against localhost)
    // always name localhost; a user's may not.
    if (resolved.certificate !== undefined) servername = serverNameFor(material.cert);
  }

  const id = (++sinkCounter).toString(36);
  const prefix = `${process.pid.toString(36)}${id}`;
  let deliveries = 0;
  let connectionIds = 0;
  const capture =
    resolved.capture === 'full' && resolved.maxRecords > 0
      ? new CaptureStore(
          {
            maxMessages: resolved.maxRecords,
            maxBytes: resolved.maxCaptureBytes,
            maxMessageSize: resolved.maxMessageSize,
          },
          (counter, delta) => recorder.count(counter, delta),
        )
      : undefined;
  const recorder = new Recorder({
    maxRecords: resolved.maxRecords,
    keepRecords: resolved.capture !== 'count' && resolved.maxRecords > 0,
    capture: capture && ((_transaction, connection) => capture.writer(connection)),
    onDelivery: capture && ((record, delivery) => capture.delivered(record, delivery)),
  });

  let sink: Sink | undefined;
  const host: ConnectionHost = {
    recorder,
    idleTimeout: resolved.idleTimeout,
    recordTimeout: resolved.recordTimeout,
    maxSessionTime: resolved.maxSessionTime,
    secureContext: () => context,
    handshakeFault: tlsFault === 'handshake',
    release: (connection) => {
      capture?.connectionClosed(connection.session.connection.id);
      transcripts?.closed(connection.session.connection.id);
      recorder.connectionClosed(connection.session.connection, connection.lastSent, false);
      // Last: releasing the final connection lets a pending close() resolve, with the record complete.
      sink?.release(connection);
    },
    internalError: (error) => sink?.emitError(error),
  };
  const sessionOptions = (starttls: boolean, lmtp: boolean): SessionOptions => ({
    hostname: resolved.hostname,
    maxMessageSize: resolved.maxMessageSize,
    maxCommandLineLength: resolved.maxCommandLineLength,
    maxDataLineLength: resolved.maxDataLineLength,
    maxRecipients: resolved.maxRecipients,
    maxRejectedRecipients: resolved.maxRejectedRecipients,
    maxInvalidCommands: resolved.maxInvalidCommands,
    softErrorLimit: resolved.softErrorLimit,
    errorDelay: resolved.errorDelay,
    starttls,
    requireTls: resolved.requireTls,
    lmtp,
    lenient: resolved.lenient,
    auth: resolved.auth,
    // Set by the behaviour, and only while one is in force: a bare sink pays nothing per stage.
    policy: undefined,
    nextDeliveryId: () => `${prefix}.${(++deliveries).toString(36)}`,
  });
  const starttls = resolved.tls === 'starttls' || resolved.tls === 'both';
  const plainSession = sessionOptions(starttls, resolved.lmtp);
  const implicitSession = sessionOptions(false, false);
  const behaviour = new SinkBehaviour(resolved.behaviour, resolved.policy);
  behaviour.attach(plainSession);
  behaviour.attach(implicitSession);

  const perAddress = new AddressLimit(resolved.maxConnectionsPerAddress);
  /** A connection over a limit: told why (421) unless it speaks TLS first, then dropped. */
  const turnAway = (
    socket: Socket,
    listener: 'smtp' | 'lmtp' | 'smtps',
    why: ReturnType<typeof replies.tooManyConnections>,
  ): void => {
    const current = sink as Sink;
    if (listener === 'smtps') socket.destroy();
    else socket.end(encodeReply(why));
    // A refused client that never reads must not hold the socket open.
    const grace = setTimeout(() => socket.destroy(), 1000).unref();
    const refused = current.refusedSockets;
    refused.add(socket);
    socket.once('close', () => {
      clearTimeout(grace);
      refused.delete(socket);
    });
  };

  const accept = (socket: Socket, listener: 'smtp' | 'lmtp' | 'smtps', localPort: number): void => {
    socket.on('error', () => {
      // Errors before the session exists (a reset during accept) are the client's business.
    });
    if (sink === undefined || sink.closingStarted) {
      socket.destroy();
      return;
    }
    const info: ConnectionInfo = {
      id: ++connectionIds,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      // The listener's port: asking the socket would cost a getsockname call per connection.
      localPort,
      listener,
    };
    if (sink.connectionCount + sink.connectionsPending.size >= resolved.maxConnections) {
      recorder.connectionOpened(info, true);
      turnAway(socket, listener, replies.tooManyConnections(resolved.maxConnections));
      return;
    }
    if (!perAddress.take(info.remoteAddress)) {
      recorder.connectionOpened(info, true);
      turnAway(socket, listener, replies.tooManyFromAddress(resolved.maxConnectionsPerAddress));
      return;
    }
    // The TCP socket closes last whatever ended the connection (TLS failure, reset, QUIT).
    socket.once('close', () => perAddress.release(info.remoteAddress));
    recorder.connectionOpened(info, false);
    if (listener === 'smtps') {
      acceptImplicitTls(socket, info);
      return;
    }
    const session = new SmtpSession(plainSession, info, recorder);
    if (transcripts !== undefined) session.transcript = transcripts.open(info);
    const connection = new Connection(socket, session, host);
    sink.adopt(connection);
    connection.start();
  };

  const acceptImplicitTls = (socket: Socket, info: ConnectionInfo): void => {
    const current = sink as Sink;
    if (tlsFault === 'handshake' || context === undefined) {
      // Tracked like any handshake in progress, so close() ends it and the counters see it close.
      const pending = { shutdown: () => socket.destroy() };
      current.connectionsPending.add(pending);
      socket.once('close', () => {
        current.connectionsPending.delete(pending);
        recorder.connectionClosed(info, undefined, false);
      });
      socket.setTimeout(resolved.idleTimeout, () => socket.destroy());
      refuseHandshake(socket);
      return;
    }
    const secure = new TLSSocket(socket, { isServer: true, secureContext: context });
    let started = false;
    const pending = { shutdown: () => secure.destroy() };
    const fail = (): void => {
      if (started) return;
      started = true;
      current.connectionsPending.delete(pending);
      secure.destroy();
      recorder.connectionClosed(info, undefined, false);
    };
    current.connectionsPending.add(pending);
    secure.on('error', fail);
    secure.setTimeout(resolved.idleTimeout, fail);
    socket.on('close', fail);
    secure.once('secure', () => {
      if (started) return;
      started = true;
      current.connectionsPending.delete(pending);
      socket.removeListener('close', fail);
      secure.removeListener('error', fail);
      secure.setTimeout(0);
      const tls: TlsInfo = {
        protocol: secure.getProtocol() ?? 'unknown',
        cipher: secure.getCipher()?.name ?? 'unknown',
        mode: 'implicit',
      };
      if (typeof secure.servername === 'string' && secure.servername !== '') tls.servername = secure.servername;
      const session = new SmtpSession(implicitSession, info, recorder, tls);
      if (transcripts !== undefined) session.transcript = transcripts.open(info);
      const connection = new Connection(secure, session, host, socket);
      current.adopt(connection);
      connection.start();
    });
  };

  const servers: Server[] = [];
  const listen = (port: number, listener: 'smtp' | 'lmtp' | 'smtps'): Promise<number> =>
    new Promise((resolve, reject) => {
      let bound = port;
      const server = createServer({ noDelay: true }, (socket) => accept(socket, listener, bound));
      servers.push(server);
      server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, resolved.host, port, listener)));
      server.listen({ host: resolved.host, port, exclusive: clusterShared !== true }, () => {
        server.removeAllListeners('error');
        server.on('error', () => {
          // Accept errors (EMFILE and the like) must not take the host process down.
        });
        const address = server.address();
        bound = typeof address === 'object' && address !== null ? address.port : port;
        resolve(bound);
      });
    });

  try {
    const plainPort = await listen(resolved.port, resolved.lmtp ? 'lmtp' : 'smtp');
    const tlsPort =
      resolved.tls === 'implicit' || resolved.tls === 'both' ? await listen(resolved.tlsPort, 'smtps') : undefined;
    sink = new Sink(resolved, recorder, servers, { host: resolved.host, port: plainPort, tlsPort }, ca, servername);
    sink.captureStore = capture;
    sink.transcripts = transcripts;
    sink.behaviour = behaviour;
  } catch (error) {
    await Promise.all(servers.map((s) => new Promise((r) => (s.listening ? s.close(r) : r(undefined)))));
    throw error;
  }
  if (api !== undefined && api !== false) {
    try {
      sink.controlApi = await serveControlApi(sinkTarget(sink), api === true ? {} : api);
    } catch (error) {
      await sink.close();
      throw error;
    }
  }
  return sink;
}

async function certificateFor(
  options: ResolvedOptions,
  fault: TlsFault | undefined,
): Promise<{ key: string; cert: string; ca: string }> {
  if (options.certificate !== undefined) {
    const c = options.certificate;
    return { key: c.key.toString(), cert: c.cert.toString(), ca: (c.ca ?? c.cert).toString() };
  }
  const certOptions = {
    hostnames: options.tlsHostnames,
    ...(options.tlsCacheDir ? { cacheDir: options.tlsCacheDir } : {}),
  };
  if (fault !== undefined && fault !== 'handshake') return faultCertificate(fault, certOptions);
  return testCertificate(certOptions);
}

/** Generated certificates are memoised objects: their parsed contexts are kept too, per minimum version. */
const generatedContexts = new WeakMap<object, Map<string, SecureContext>>();

function secureContextFor(material: { key: string; cert: string }, options: ResolvedOptions): SecureContext {
  if (options.certificate === undefined) {
    // Parsing the key and certificate is most of what a TLS sink costs over a plain one once the
    // certificate exists; per-test sinks share one context instead.
    let byVersion = generatedContexts.get(material);
    if (byVersion === undefined) {
      byVersion = new Map();
      generatedContexts.set(material, byVersion);
    }
    let context = byVersion.get(options.minTlsVersion);
    if (context === undefined) {
      context = createSecureContext({ key: material.key, cert: material.cert, minVersion: options.minTlsVersion });
      byVersion.set(options.minTlsVersion, context);
    }
    return context;
  }
  try {
    return createSecureContext({ key: material.key, cert: material.cert, minVersion: options.minTlsVersion });
  } catch (error) {
    // OpenSSL's own words ("key values mismatch", "unsupported") do not say which input was wrong.
    throw new TypeError(
      `startSink: option "certificate" cannot be used: ${(error as Error).message}. Pass PEM text (or Buffers) ` +
        'of a private key and of the certificate it belongs to, leaf first, e.g. { key, cert, ca } from testCertificate().',
      { cause: error },
    );
  }
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number, listener: string): Error {
  const where = `${urlHost(host)}:${port}`;
  const option = listener === 'smtps' ? 'tlsPort' : 'port';
  if (error.code === 'EADDRINUSE') {
    return new Error(`startSink: ${where} is already in use; choose another "${option}" or use 0 for any free port`, {
      cause: error,
    });
  }
  if (error.code === 'EACCES') {
    return new Error(
      `startSink: no permission to listen on ${where}; ports below 1024 need privileges, use a higher "${option}" or 0`,
      { cause: error },
    );
  }
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
    return new Error(
      `startSink: cannot bind "host" ${host}: no such local address; use an address of this machine such as "127.0.0.1" or "::1"`,
      { cause: error },
    );
  }
  return new Error(`startSink: cannot listen on ${where}: ${error.message}`, { cause: error });
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
