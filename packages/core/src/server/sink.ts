import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import { SmtpSession, type SessionOptions } from '../protocol/session.js';
import { replies } from '../protocol/replies.js';
import { encodeReply } from '../protocol/reply.js';
import type { ConnectionInfo, TlsInfo } from '../protocol/types.js';
import type { DeliveryRecord } from '../record/records.js';
import {
  type DeliveryFilter,
  type DeliveryPredicate,
  type Mark,
  Recorder,
  type SinkStats,
  type WaitOptions,
  type WaitTarget,
} from '../record/recorder.js';
import { type CertificateFault, faultCertificate, testCertificate, writeCaFile } from '../tls/certificates.js';
import { SinkView, type ViewScope } from '../record/view.js';
import { Connection, type ConnectionHost } from './connection.js';
import { type ResolvedOptions, resolveOptions, type SinkOptions } from './options.js';

/** A TLS fault to serve, to prove a client refuses a bad server. */
export type TlsFault = CertificateFault | 'handshake';

/** Options of `startSink`: the engine's, plus TLS faults. */
export interface StartOptions extends SinkOptions {
  /** Serve a broken certificate (`expired`, `wrong-host`, `untrusted`) or fail every handshake (`handshake`). */
  tlsFault?: TlsFault;
}

/** Settings a TLS client needs to verify the sink, ready for nodemailer's `tls` option. */
export interface ClientTlsSettings {
  /** PEM of the CA that signed the sink's certificate. */
  ca: string;
  /** Name to verify the certificate against (a SAN of it). */
  servername: string;
  /** Verification stays on: that is the point. */
  rejectUnauthorized: true;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
}

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
  private closing: Promise<void> | undefined;
  private readonly events = new EventEmitter();

  /** @internal use `startSink` */
  constructor(
    options: ResolvedOptions,
    recorder: Recorder,
    servers: Server[],
    addresses: { host: string; port: number; tlsPort: number | undefined },
    ca: string | undefined,
    private readonly tls: { context: SecureContext | undefined; fault: TlsFault | undefined },
    readonly connectionHost: ConnectionHost,
  ) {
    this.options = options;
    this.recorder = recorder;
    this.servers = servers;
    this.host = addresses.host;
    this.port = addresses.port;
    this.tlsPort = addresses.tlsPort;
    this.ca = ca;
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
  }

  /** A human-readable report of what the sink saw (for failing assertions). */
  describe(): string {
    return this.recorder.describe();
  }

  /** TLS settings for a client that verifies this sink, e.g. nodemailer's `tls` option. */
  clientTls(): ClientTlsSettings {
    if (this.ca === undefined) {
      throw new Error('sink.clientTls(): this sink has no TLS; start it with tls: "starttls", "implicit" or "both"');
    }
    return { ca: this.ca, servername: 'localhost', rejectUnauthorized: true, minVersion: this.options.minTlsVersion };
  }

  /** Writes the CA (PEM) to `path` for non-Node clients (curl --cacert, swaks --tls-ca-path); returns the absolute path. */
  writeCa(path: string): Promise<string> {
    if (this.ca === undefined) {
      return Promise.reject(new Error('sink.writeCa(): this sink has no TLS; start it with tls: "starttls", "implicit" or "both"'));
    }
    return writeCaFile(this.ca, path);
  }

  /** Subscribes to `delivery`, `connection`, `disconnect`, `transaction`, `recipient`, `fault` or `error`. */
  on(event: string, listener: (...args: any[]) => void): this {
    if (event === 'error') this.events.on(event, listener);
    else this.recorder.on(event, listener);
    return this;
  }

  off(event: string, listener: (...args: any[]) => void): this {
    if (event === 'error') this.events.off(event, listener);
    else this.recorder.off(event, listener);
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
      this.recorder.failWaiters(new Error('waitFor: the sink was closed before the wait was satisfied'));
      if (pending === 0) resolve();
    });
    return this.closing;
  }

  /** @internal */
  adopt(connection: Connection): void {
    this.connections.add(connection);
  }

  /** @internal */
  release(connection: Connection): void {
    this.connections.delete(connection);
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

  /** @internal */
  get tlsState(): { context: SecureContext | undefined; fault: TlsFault | undefined } {
    return this.tls;
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
  const { tlsFault, ...rest } = options;
  const resolved = resolveOptions(rest);
  if (tlsFault !== undefined && !['expired', 'wrong-host', 'untrusted', 'handshake'].includes(tlsFault)) {
    throw new TypeError(`startSink: option "tlsFault" must be "expired", "wrong-host", "untrusted" or "handshake", got ${JSON.stringify(tlsFault)}`);
  }
  if (tlsFault !== undefined && resolved.tls === 'none') {
    throw new TypeError('startSink: option "tlsFault" needs TLS: set tls to "starttls", "implicit" or "both"');
  }

  let context: SecureContext | undefined;
  let ca: string | undefined;
  if (resolved.tls !== 'none') {
    const material = await certificateFor(resolved, tlsFault);
    ca = material.ca;
    context = createSecureContext({ key: material.key, cert: material.cert, minVersion: resolved.minTlsVersion });
  }

  const id = (++sinkCounter).toString(36);
  const prefix = `${process.pid.toString(36)}${id}`;
  let deliveries = 0;
  let connectionIds = 0;
  const recorder = new Recorder({
    maxRecords: resolved.maxRecords,
    keepRecords: resolved.capture !== 'count' && resolved.maxRecords > 0,
  });

  let sink: Sink | undefined;
  const host: ConnectionHost = {
    recorder,
    idleTimeout: resolved.idleTimeout,
    minTlsVersion: resolved.minTlsVersion,
    secureContext: () => context,
    handshakeFault: tlsFault === 'handshake',
    release: (connection) => {
      sink?.release(connection);
      recorder.connectionClosed(connection.session.connection, connection.lastSent, false);
    },
    internalError: (error) => sink?.emitError(error),
  };
  const sessionOptions = (starttls: boolean, lmtp: boolean): SessionOptions => ({
    hostname: resolved.hostname,
    maxMessageSize: resolved.maxMessageSize,
    maxCommandLineLength: resolved.maxCommandLineLength,
    maxDataLineLength: resolved.maxDataLineLength,
    maxRecipients: resolved.maxRecipients,
    maxInvalidCommands: resolved.maxInvalidCommands,
    starttls,
    requireTls: resolved.requireTls,
    lmtp,
    lenient: resolved.lenient,
    auth: resolved.auth,
    policy: resolved.policy,
    nextDeliveryId: () => `${prefix}.${(++deliveries).toString(36)}`,
  });
  const starttls = resolved.tls === 'starttls' || resolved.tls === 'both';
  const plainSession = sessionOptions(starttls, resolved.lmtp);
  const implicitSession = sessionOptions(false, false);

  const accept = (socket: Socket, listener: 'smtp' | 'lmtp' | 'smtps'): void => {
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
      localPort: socket.localPort ?? 0,
      listener,
    };
    if (sink.connectionCount + sink.connectionsPending.size >= resolved.maxConnections) {
      recorder.connectionOpened(info, true);
      if (listener === 'smtps') socket.destroy();
      else socket.end(encodeReply(replies.tooManyConnections(resolved.maxConnections)));
      // A refused client that never reads must not hold the socket open.
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    recorder.connectionOpened(info, false);
    if (listener === 'smtps') {
      acceptImplicitTls(socket, info);
      return;
    }
    const connection = new Connection(socket, new SmtpSession(plainSession, info, recorder), host);
    sink.adopt(connection);
    connection.start();
  };

  const acceptImplicitTls = (socket: Socket, info: ConnectionInfo): void => {
    const current = sink as Sink;
    if (tlsFault === 'handshake' || context === undefined) {
      // A handshake that fails: the client gets bytes that are not TLS, then the connection ends.
      socket.end('mailhole: TLS handshake failure (tlsFault: "handshake")\r\n');
      setTimeout(() => socket.destroy(), 1000).unref();
      recorder.connectionClosed(info, undefined, false);
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
      const tls: TlsInfo = { protocol: secure.getProtocol() ?? 'unknown', cipher: secure.getCipher()?.name ?? 'unknown', mode: 'implicit' };
      const connection = new Connection(secure, new SmtpSession(implicitSession, info, recorder, tls), host);
      current.adopt(connection);
      connection.start();
    });
  };

  const servers: Server[] = [];
  const listen = (port: number, listener: 'smtp' | 'lmtp' | 'smtps'): Promise<number> =>
    new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true }, (socket) => accept(socket, listener));
      servers.push(server);
      server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, resolved.host, port, listener)));
      server.listen({ host: resolved.host, port, exclusive: true }, () => {
        server.removeAllListeners('error');
        server.on('error', () => {
          // Accept errors (EMFILE and the like) must not take the host process down.
        });
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });

  try {
    const plainPort = await listen(resolved.port, resolved.lmtp ? 'lmtp' : 'smtp');
    const tlsPort = resolved.tls === 'implicit' || resolved.tls === 'both' ? await listen(resolved.tlsPort, 'smtps') : undefined;
    sink = new Sink(resolved, recorder, servers, { host: resolved.host, port: plainPort, tlsPort }, ca, { context, fault: tlsFault }, host);
    return sink;
  } catch (error) {
    await Promise.all(servers.map((s) => new Promise((r) => (s.listening ? s.close(r) : r(undefined)))));
    throw error;
  }
}

async function certificateFor(options: ResolvedOptions, fault: TlsFault | undefined): Promise<{ key: string; cert: string; ca: string }> {
  if (options.certificate !== undefined) {
    const c = options.certificate;
    return { key: c.key.toString(), cert: c.cert.toString(), ca: (c.ca ?? c.cert).toString() };
  }
  const certOptions = { hostnames: options.tlsHostnames, ...(options.tlsCacheDir ? { cacheDir: options.tlsCacheDir } : {}) };
  if (fault !== undefined && fault !== 'handshake') return faultCertificate(fault, certOptions);
  return testCertificate(certOptions);
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number, listener: string): Error {
  const where = `${urlHost(host)}:${port}`;
  const option = listener === 'smtps' ? 'tlsPort' : 'port';
  if (error.code === 'EADDRINUSE') {
    return new Error(`startSink: ${where} is already in use; choose another "${option}" or use 0 for any free port`, { cause: error });
  }
  if (error.code === 'EACCES') {
    return new Error(`startSink: no permission to listen on ${where}; ports below 1024 need privileges, use a higher "${option}" or 0`, { cause: error });
  }
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
    return new Error(`startSink: cannot bind "host" ${host}: no such local address`, { cause: error });
  }
  return new Error(`startSink: cannot listen on ${where}: ${error.message}`, { cause: error });
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
