import { Buffer } from 'node:buffer';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
// From node:timers, not the globals: a Jest jsdom environment has no setImmediate, and fake timers must not stall a close.
import { setImmediate } from 'node:timers';
import { URL } from 'node:url';
import { hostPort, listenerUrl } from '../server/url.js';
import { digest, guardSite, guardToken, isLoopback, type RequestGuard } from './api-guards.js';
import { type ApiState, controlRoutes, MAX_WAIT_MS } from './api-routes.js';
import { inboxRoutes } from './inbox-routes.js';
import { parseQuery, QueryError } from './query.js';
import type { ControlTarget } from './target.js';

export { isLoopback } from './api-guards.js';

import { HttpError, NO_CACHE, readBody, send } from './api-http.js';

/** Where and how a sink serves its control API. */
export interface ControlApiOptions {
  /** Port of the API; 0 (default) lets the OS pick, read it back from `sink.apiUrl`. */
  port?: number;
  /** Address to bind. Default `127.0.0.1`: the API is as private as the sink. */
  host?: string;
  /** When set, every request needs `Authorization: Bearer <token>`. Required on a non-loopback `host`. */
  token?: string;
  /**
   * Serve the API on a non-loopback `host` without a token, for a network that is yours alone:
   * anyone who reaches the port reads every captured message and changes fault rules. Default false.
   */
  allowUnauthenticated?: boolean;
  /**
   * Longest a `GET /api/wait` long-poll is held, in ms; a longer `timeout` is cut to it (the answer
   * then says `reached: false`, and the remote client asks again). Default 300000 (5 minutes).
   */
  maxWaitTimeout?: number;
  /**
   * Long-polls held at once; one more gets `429` with `Retry-After`, so waits cannot take the
   * connections `/api/stats`, `/api/health` and `/metrics` need. Default 100.
   */
  maxWaits?: number;
}

/** A running control API. */
export interface ControlServer {
  /** Base URL, e.g. `http://127.0.0.1:8025`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Ends pending waits, stops listening and closes every connection. */
  close(): Promise<void>;
}

export { MAX_WAIT_MS } from './api-routes.js';

const DEFAULT_MAX_WAIT_TIMEOUT = 300_000;
const DEFAULT_MAX_WAITS = 100;
/** HTTP connections at once: well above maxWaits, so quick calls always find room. */
const MAX_API_CONNECTIONS = 512;

/**
 * Thrown when the control API would listen beyond loopback with no token: anyone who reaches it
 * could read every captured message and change fault rules. The message names both ways out.
 */
export class UnauthenticatedApiError extends TypeError {
  override name = 'UnauthenticatedApiError';
  constructor(readonly host: string) {
    super(
      `control API: refusing to serve on ${host} without a token: anyone who can reach it could read every captured message and change fault rules. ` +
        'Set a token (option api.token; mailhole serve --token or MAILHOLE_API_TOKEN), or, on a network that is yours alone, ' +
        'opt out with api.allowUnauthenticated: true (mailhole serve --api-allow-unauthenticated).',
    );
  }
}

/**
 * Serves the control API of `target`. Loopback by default; with `token`, every request must carry
 * it. A browser page on another origin (or under a foreign Host name) is refused with 403, so a web
 * page cannot reset or read a sink on a developer's machine. Every answer is JSON, errors included
 * (`{ error, status }`), except the raw message and the metrics.
 *
 * - `GET /api/stats`: every counter of `SinkStats`.
 * - `GET /api/health`: `{ ok: true }` while the API runs.
 * - `GET /api/info`: host, port, url, tlsPort, tlsUrl, ca, apiUrl, options in force, workers.
 * - `GET /api/describe`: `{ description }`, the report failure messages quote.
 * - `GET /api/mark`: the current mark `{ seq, acceptedTotal, token }`; `POST /api/mark` takes one and
 *   remembers it as `since=last`.
 * - `POST /api/reset`: zeroes the counters, forgets records and messages.
 * - `GET /api/deliveries?to&from&subject&header&since&includeRejected&after&limit`: `{ deliveries, mark, next? }`,
 *   oldest first, at most 1000 records an answer: pass `next` as `after` for the following page (`limit`
 *   alone gives the newest `limit`). A record whose JSON passes 64 KiB has its lists cut and `truncated: true`.
 * - `GET /api/deliveries/:id`: `{ delivery }`, one record whole.
 * - `GET /api/messages?…filters&after&limit`: kept messages `{ messages: [{ id, size, record }], mark, next? }`
 *   (capture full), paged like deliveries.
 * - `GET /api/messages/:id[?parsed=false]`: `{ id, size, record, parsed }`, attachments in base64.
 * - `GET /api/messages/:id/raw`: the message as received, `message/rfc822`.
 * - `GET /api/faults`: `{ faults, fired }`, the rules in force and the faults that fired; `POST /api/faults`
 *   adds a rule (JSON, as `sink.faults.add` takes it; 201 `{ fault }`); `DELETE /api/faults` removes
 *   every rule, `DELETE /api/faults/:name` one (404 when there is none).
 * - `GET /api/fired?rule&stage`: `{ fired }`, the faults that fired (the last 1000), optionally of one
 *   rule or stage; `DELETE /api/fired` forgets them (`sink.faults.clearFired()`).
 * - `GET /api/wait?count&timeout&…filters`: answers when `count` accepted deliveries (matching the
 *   filters, after `since`) are there: `{ reached: true, deliveries }`. At the timeout (ms, default
 *   3000, cut to `maxWaitTimeout`) it answers 200 too, with `{ reached: false, expected, received, message }`
 *   and the same text `waitFor` throws: a timeout is an answer about the sink, not an HTTP failure.
 *   When the sink closes, pending waits get 503. Past `maxWaits` waits at once, 429 with `Retry-After`.
 * - `GET /metrics`: Prometheus text, `mailhole_*` counters labelled `sink="host:port"`.
 *
 * @example const api = await serveControlApi(sinkTarget(sink), { port: 0 }); await fetch(`${api.url}/api/stats`);
 */
export async function serveControlApi(target: ControlTarget, options: ControlApiOptions = {}): Promise<ControlServer> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `startSink: option "api" must be true or { port, host, token }, got ${JSON.stringify(options)}`,
    );
  }
  const known = ['port', 'host', 'token', 'allowUnauthenticated', 'maxWaitTimeout', 'maxWaits'];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`startSink: unknown option "api.${key}" (known: ${known.map((k) => `api.${k}`).join(', ')})`);
    }
  }
  const maxWaitTimeout = options.maxWaitTimeout ?? DEFAULT_MAX_WAIT_TIMEOUT;
  if (!Number.isInteger(maxWaitTimeout) || maxWaitTimeout < 1 || maxWaitTimeout > MAX_WAIT_MS) {
    throw new RangeError(
      `startSink: option "api.maxWaitTimeout" must be a whole number of ms from 1 to ${MAX_WAIT_MS}, got ${JSON.stringify(maxWaitTimeout)}`,
    );
  }
  const maxWaits = options.maxWaits ?? DEFAULT_MAX_WAITS;
  if (!Number.isInteger(maxWaits) || maxWaits < 1 || maxWaits > MAX_API_CONNECTIONS / 2) {
    throw new RangeError(
      `startSink: option "api.maxWaits" must be a whole number from 1 to ${MAX_API_CONNECTIONS / 2} (half the API's connections stay free for other calls), got ${JSON.stringify(maxWaits)}`,
    );
  }
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') {
    throw new TypeError('startSink: option "api.host" must be a non-empty string such as "127.0.0.1"');
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `startSink: option "api.port" must be a port number from 0 to 65535, got ${JSON.stringify(port)}`,
    );
  }
  const token = options.token;
  if (token !== undefined && (typeof token !== 'string' || token === '')) {
    throw new TypeError('startSink: option "api.token" must be a non-empty string');
  }
  const allowUnauthenticated = options.allowUnauthenticated ?? false;
  if (typeof allowUnauthenticated !== 'boolean') {
    throw new TypeError(
      `startSink: option "api.allowUnauthenticated" must be true or false, got ${JSON.stringify(allowUnauthenticated)}`,
    );
  }
  const loopback = isLoopback(host);
  if (!loopback && token === undefined && !allowUnauthenticated) throw new UnauthenticatedApiError(host);
  const guard: RequestGuard = { host, loopback, tokenDigest: token === undefined ? undefined : digest(token) };

  const state: ApiState = { url: '', lastMark: undefined, waits: 0, maxWaits, maxWaitTimeout };
  const pending = new Set<AbortController>();
  let closing = false;

  const routes = controlRoutes(target, state);
  const inbox = inboxRoutes(target);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://mailhole.invalid');
    guardSite(req, guard);
    // The inbox page holds no data (it asks for it with the token), so a browser loads it without one.
    if (inbox.serveAsset(req, res, url.pathname)) return;
    guardToken(req, guard);
    if (await inbox.handle(req, res, url)) return;
    const candidates = routes.filter((r) => r.pattern.test(url.pathname));
    if (candidates.length === 0) {
      throw new HttpError(
        404,
        `no route ${url.pathname}: the API serves /api/stats, /api/health, /api/info, /api/describe, /api/mark, /api/reset, /api/deliveries, /api/deliveries/:id, /api/messages, /api/messages/:id, /api/messages/:id/raw, /api/wait, /api/faults, /api/faults/:name, /api/fired, /metrics, and for the web inbox /, ${inbox.paths}`,
      );
    }
    const route = candidates.find((r) => r.method === req.method);
    if (route === undefined) {
      const allow = candidates.map((r) => r.method).join(', ');
      throw new HttpError(405, `${req.method} ${url.pathname} is not allowed: use ${allow}`, { Allow: allow });
    }
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    const { filter, extra } = parseQuery(url.searchParams, route.params, state.lastMark);
    const controller = new AbortController();
    pending.add(controller);
    res.once('close', () => controller.abort(new Error('the client left')));
    try {
      const reply = await route.handle({
        match: route.pattern.exec(url.pathname) as RegExpExecArray,
        filter,
        extra,
        signal: controller.signal,
        body,
      });
      if ('json' in reply) send(res, reply.status ?? 200, reply.json);
      else {
        res.writeHead(200, {
          'Content-Type': reply.type,
          'Content-Length': Buffer.byteLength(reply.body),
          ...NO_CACHE,
        });
        res.end(reply.body);
      }
    } finally {
      pending.delete(controller);
    }
  };

  const server: Server = createServer((req, res) => {
    req.on('error', () => {
      // A client that resets mid-request is its own problem; the response is simply dropped.
    });
    res.on('error', () => {});
    if (closing) {
      send(res, 503, { error: 'the sink is closing', status: 503 });
      return;
    }
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError)
        send(res, error.status, { error: error.message, status: error.status }, error.headers);
      else if (error instanceof QueryError) send(res, 400, { error: error.message, status: 400 });
      else
        send(res, 500, {
          error: `mailhole: internal error: ${(error as Error)?.message ?? String(error)}`,
          status: 500,
        });
    });
  });
  // Malformed HTTP never reaches the handler: answer it (or drop the socket) without an exception.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const body = JSON.stringify({ error: `malformed HTTP request: ${error.message}`, status: 400 });
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  server.on('error', () => {});
  // Long-polls hold a connection each: bounded, so a runaway client cannot exhaust descriptors.
  server.maxConnections = MAX_API_CONNECTIONS;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 1000;

  const boundPort = await new Promise<number>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const where = hostPort(host, port);
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `control API: ${where} is already in use; choose another "api.port" (mailhole serve --api-port) or 0 for any free port`
            : `control API: cannot listen on ${where}: ${error.message}`,
          { cause: error },
        ),
      );
    });
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
  const url = listenerUrl('http', host, boundPort);
  state.url = url;

  let closed: Promise<void> | undefined;
  return {
    url,
    host,
    port: boundPort,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        for (const controller of pending) controller.abort(new Error('the sink is closing'));
        server.close(() => resolve());
        // Waits answer 503 on the abort above; give those answers a tick to leave, then cut every socket.
        setImmediate(() => {
          server.closeIdleConnections();
          setImmediate(() => server.closeAllConnections());
        });
      });
      return closed;
    },
  };
}
