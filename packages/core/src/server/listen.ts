import { createServer, type Server, type Socket } from 'node:net';
import { clearTimeout, setTimeout } from 'node:timers';
import type { SecureContext } from 'node:tls';
import { chainPolicies, HookPolicy } from '../behaviour/hooks.js';
import { SinkBehaviour } from '../behaviour/policy.js';
import { replies } from '../protocol/replies.js';
import { encodeReply } from '../protocol/reply.js';
import { type SessionOptions, SmtpSession } from '../protocol/session.js';
import type { ConnectionInfo } from '../protocol/types.js';
import { CaptureStore } from '../record/capture.js';
import { Recorder } from '../record/recorder.js';
import { Transcripts } from '../record/transcript.js';
import { serverNameFor } from '../tls/server-name.js';
import { AddressLimit } from './address-limit.js';
import { Connection, type ConnectionHost } from './connection.js';
import { resolveOptions } from './options.js';
import { certificateFor, secureContextFor } from './secure-context.js';
import { type EngineOptions, Sink } from './sink.js';
import { upgradeToTls } from './tls-upgrade.js';
import { hostPort } from './url.js';

// Assembling a sink: its options resolved, its TLS material, recorder, capture and behaviour built,
// its listeners bound; and accepting each connection (plain, or implicit TLS) into a session.

let sinkCounter = 0;

/**
 * @internal Starts the engine and resolves once every listener is bound; `startSink` (start.ts)
 * adds the control API on top.
 */
export async function listenSink(options: EngineOptions = {}): Promise<Sink> {
  const { tlsFault, clusterShared, transcripts: transcriptOption, ...rest } = options;
  const transcripts =
    transcriptOption === undefined || transcriptOption === false ? undefined : new Transcripts(transcriptOption);
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
  const hooks =
    resolved.behaviour.hooks === undefined
      ? undefined
      : new HookPolicy(resolved.behaviour.hooks, (error) => sink?.emitError(error));
  const host: ConnectionHost = {
    received: (octets) => recorder.received(octets),
    delivered: (delivery) => recorder.delivered(delivery),
    idleTimeout: resolved.idleTimeout,
    recordTimeout: resolved.recordTimeout,
    maxSessionTime: resolved.maxSessionTime,
    secureContext: () => context,
    handshakeFault: tlsFault === 'handshake',
    release: (connection) => {
      hooks?.closed(connection.session.connection);
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
    hiddenKeywords: resolved.hideEhloKeywords,
    nextDeliveryId: () => `${prefix}.${(++deliveries).toString(36)}`,
  });
  const starttls = resolved.tls === 'starttls' || resolved.tls === 'both';
  const plainSession = sessionOptions(starttls, resolved.lmtp);
  const implicitSession = sessionOptions(false, false);
  const custom =
    hooks === undefined
      ? resolved.policy
      : resolved.policy === undefined
        ? hooks
        : chainPolicies(hooks, resolved.policy);
  const behaviour = new SinkBehaviour(resolved.behaviour, custom);
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
    // Tracked like any handshake in progress, so close() ends it and the counters see it close.
    const pending = { shutdown: () => secure.destroy() };
    current.connectionsPending.add(pending);
    const secure = upgradeToTls(
      socket,
      tlsFault === 'handshake' ? undefined : context,
      'implicit',
      resolved.idleTimeout,
      {
        secured: (tls, tlsInfo) => {
          current.connectionsPending.delete(pending);
          const session = new SmtpSession(implicitSession, info, recorder, tlsInfo);
          if (transcripts !== undefined) session.transcript = transcripts.open(info);
          const connection = new Connection(tls, session, host, socket);
          current.adopt(connection);
          connection.start();
        },
        failed: () => {
          current.connectionsPending.delete(pending);
          recorder.connectionClosed(info, undefined, false);
        },
      },
    );
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
  return sink;
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number, listener: string): Error {
  const where = hostPort(host, port);
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
