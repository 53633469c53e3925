import { Buffer } from 'node:buffer';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
// From node:timers, not the globals: a Jest jsdom environment has no setImmediate, and fake timers must not stall a close.
import { setImmediate } from 'node:timers';
import { URL } from 'node:url';
import { STAGE_NAMES, stageOf } from '../behaviour/delays.js';
import { type FaultRule, FaultRuleError, type FaultRules } from '../behaviour/faults.js';
import { parsedToJson } from '../record/parsed.js';
import { type DeliveryFilter, type Mark, WaitTimeoutError } from '../record/recorder.js';
import { inboxRoutes } from './inbox-routes.js';
import { prometheusText } from './metrics.js';
import { API_PAGE_LIMIT, listRecord, pageOf } from './paging.js';
import { FILTER_PARAMS, intParam, markToken, parseQuery, QueryError } from './query.js';
import type { ControlTarget, SinkInfo } from './target.js';

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

/** Largest `timeout` a wait may ask for (it is then cut to `maxWaitTimeout`). */
export const MAX_WAIT_MS = 3_600_000;
const DEFAULT_WAIT_MS = 3000;
const DEFAULT_MAX_WAIT_TIMEOUT = 300_000;
const DEFAULT_MAX_WAITS = 100;
/** Seconds a client turned away by `maxWaits` is told to wait (`Retry-After`). */
const WAIT_RETRY_AFTER = 1;
/** HTTP connections at once: well above maxWaits, so quick calls always find room. */
const MAX_API_CONNECTIONS = 512;
const MAX_BODY = 64 * 1024;

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

/** An answer other than 200, as JSON `{ error, status }`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  pattern: RegExp;
  params: readonly string[];
  handle(request: Request): Promise<Reply> | Reply;
}

interface Request {
  match: RegExpExecArray;
  filter: DeliveryFilter;
  extra: Map<string, string>;
  signal: AbortSignal;
  /** The JSON object of a POST body, when one was sent. */
  body: Record<string, unknown> | undefined;
}

type Reply = { json: unknown; status?: number } | { body: Buffer | string; type: string };

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
  const tokenDigest = token === undefined ? undefined : digest(token);

  let lastMark: Mark | undefined;
  let url = '';
  const inbox = inboxRoutes(target);
  const pending = new Set<AbortController>();
  let closing = false;
  let waits = 0;

  const records = (): void => {
    const why = target.recordsUnavailable();
    if (why !== undefined) throw new HttpError(409, why);
  };
  const content = (): void => {
    const why = target.messagesUnavailable();
    if (why !== undefined) throw new HttpError(409, why);
  };
  const messageFor = (encoded: string) => {
    const id = decodeId(encoded, 'message');
    content();
    const message = target.message(id);
    if (message === undefined) {
      const known = target.deliveries({ includeRejected: true }).some((r) => r.id === id);
      throw new HttpError(
        404,
        known
          ? `message ${id} was delivered but its content is no longer kept (dropped to stay within maxRecords or maxCaptureBytes, see evictedMessages and uncapturedMessages in /api/stats)`
          : `no message with id ${id}: GET /api/messages lists the kept ones`,
      );
    }
    return message;
  };

  const faultRules = (): FaultRules => {
    const rules = target.faults?.();
    if (rules === undefined) {
      throw new HttpError(
        409,
        'fault rules are not available here: each worker of "mailhole serve --workers" has its own',
      );
    }
    return rules;
  };

  const routes: Route[] = [
    { method: 'GET', pattern: /^\/api\/stats$/, params: [], handle: () => ({ json: target.stats() }) },
    { method: 'GET', pattern: /^\/api\/health$/, params: [], handle: () => ({ json: { ok: true } }) },
    {
      method: 'GET',
      pattern: /^\/api\/info$/,
      params: [],
      handle: () => ({ json: { ...target.info(), apiUrl: url } satisfies SinkInfo }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/describe$/,
      params: [],
      handle: () => ({ json: { description: target.describe() } }),
    },
    { method: 'GET', pattern: /^\/api\/mark$/, params: [], handle: () => ({ json: markJson(target.mark()) }) },
    {
      method: 'POST',
      pattern: /^\/api\/mark$/,
      params: [],
      handle: () => {
        lastMark = target.mark();
        return { json: markJson(lastMark) };
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/reset$/,
      params: [],
      handle: async () => {
        await target.reset();
        return { json: { reset: true, stats: target.stats() } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/deliveries$/,
      params: [...FILTER_PARAMS, 'limit', 'after'],
      handle: ({ filter, extra }) => {
        records();
        const mark = target.mark();
        const page = pageOf(target.deliveries(filter), (r) => r.seq, pageParams(extra));
        const json: Record<string, unknown> = {
          deliveries: page.items.map((r) => listRecord(r)),
          mark: markJson(mark),
        };
        if (page.next !== undefined) json.next = page.next;
        return { json };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/deliveries\/([^/]+)$/,
      params: [],
      handle: ({ match }) => {
        records();
        const id = decodeId(match[1] as string, 'delivery');
        const record = target.deliveries({ includeRejected: true }).find((r) => r.id === id);
        if (record === undefined) {
          throw new HttpError(404, `no delivery record with id ${id}: GET /api/deliveries lists the kept ones`);
        }
        return { json: { delivery: record } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/messages$/,
      params: [...FILTER_PARAMS, 'limit', 'after'],
      handle: ({ filter, extra }) => {
        content();
        const mark = target.mark();
        const page = pageOf(target.messages(filter), (m) => m.record.seq, pageParams(extra));
        const messages = page.items.map((m) => ({ id: m.id, size: m.size, record: listRecord(m.record) }));
        const json: Record<string, unknown> = { messages, mark: markJson(mark) };
        if (page.next !== undefined) json.next = page.next;
        return { json };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/messages\/([^/]+)$/,
      params: ['parsed'],
      handle: async ({ match, extra }) => {
        const message = messageFor(match[1] as string);
        const summary = { id: message.id, size: message.size, record: message.record };
        const wanted = extra.get('parsed');
        if (wanted !== undefined && wanted !== 'true' && wanted !== 'false') {
          throw new QueryError(`parsed must be true or false, got ${JSON.stringify(wanted)}`);
        }
        if (wanted === 'false') return { json: summary };
        return { json: { ...summary, parsed: parsedToJson(await message.parsed()) } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/messages\/([^/]+)\/raw$/,
      params: [],
      handle: ({ match }) => ({ body: messageFor(match[1] as string).raw, type: 'message/rfc822' }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/wait$/,
      params: [...FILTER_PARAMS, 'count', 'timeout'],
      handle: async ({ filter, extra, signal }) => {
        // Cut to maxWaitTimeout: the answer is then reached: false, and a client with time left asks again.
        const timeout = Math.min(
          intParam(extra.get('timeout'), 'timeout', DEFAULT_WAIT_MS, 0, MAX_WAIT_MS),
          maxWaitTimeout,
        );
        const filtered = Object.keys(filter).some((k) => k !== 'since');
        const count = intParam(extra.get('count'), 'count', 1, filtered ? 1 : 0, Number.MAX_SAFE_INTEGER);
        if (filtered) records();
        const { since, ...rest } = filter;
        const waitOptions = { timeout, signal, ...(since ? { since } : {}) };
        if (waits >= maxWaits) {
          throw new HttpError(
            429,
            `too many waits in progress (${maxWaits}, option api.maxWaits or mailhole serve --max-waits): retry after ${WAIT_RETRY_AFTER} s`,
            { 'Retry-After': String(WAIT_RETRY_AFTER) },
          );
        }
        waits++;
        try {
          const deliveries = filtered
            ? await target.waitFor({ ...rest, ...(since ? { since } : {}) }, { ...waitOptions, count })
            : await target.waitFor(count, waitOptions);
          return {
            json: {
              reached: true,
              expected: count,
              received: deliveries.length,
              deliveries: deliveries.map((r) => listRecord(r)),
            },
          };
        } catch (error) {
          if (error instanceof WaitTimeoutError) {
            return {
              json: { reached: false, expected: error.expected, received: error.received, message: error.message },
            };
          }
          if (signal.aborted) throw new HttpError(503, 'the wait was abandoned: the sink is closing');
          throw new HttpError(503, (error as Error).message);
        } finally {
          waits--;
        }
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/faults$/,
      params: [],
      handle: () => {
        const faults = faultRules();
        return { json: { faults: faults.list(), fired: faults.fired() } };
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/faults$/,
      params: [],
      handle: ({ body }) => {
        const faults = faultRules();
        if (body === undefined) {
          throw new HttpError(
            400,
            'POST /api/faults needs a fault rule as JSON, e.g. {"stage":"message","action":"451","times":1}',
          );
        }
        try {
          const { name } = faults.add(body as unknown as FaultRule);
          return { json: { fault: faults.list().find((r) => r.name === name) }, status: 201 };
        } catch (error) {
          if (error instanceof FaultRuleError) throw new HttpError(400, error.message);
          throw error;
        }
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/api\/faults$/,
      params: [],
      handle: () => {
        const faults = faultRules();
        const removed = faults.list().map((r) => r.name);
        faults.clear();
        return { json: { removed } };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/api\/faults\/([^/]+)$/,
      params: [],
      handle: ({ match }) => {
        let name: string;
        try {
          name = decodeURIComponent(match[1] as string);
        } catch {
          throw new HttpError(400, `fault rule name ${JSON.stringify(match[1])} is not valid percent-encoding`);
        }
        if (!faultRules().remove(name)) {
          throw new HttpError(404, `no fault rule named ${JSON.stringify(name)}: GET /api/faults lists them`);
        }
        return { json: { removed: [name] } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/fired$/,
      params: ['rule', 'stage'],
      handle: ({ extra }) => {
        const rule = extra.get('rule');
        const stageName = extra.get('stage');
        if (stageName !== undefined && stageOf(stageName) === undefined) {
          throw new QueryError(`stage must be one of ${STAGE_NAMES}, got ${JSON.stringify(stageName)}`);
        }
        const filter = {
          ...(rule !== undefined ? { rule } : {}),
          ...(stageName !== undefined ? { stage: stageName } : {}),
        };
        return { json: { fired: faultRules().fired(filter as Parameters<FaultRules['fired']>[0]) } };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/api\/fired$/,
      params: [],
      handle: () => {
        faultRules().clearFired();
        return { json: { cleared: true } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/metrics$/,
      params: [],
      handle: () => ({
        body: prometheusText(target.stats(), `${urlHost(target.info().host)}:${target.info().port}`),
        type: 'text/plain; version=0.0.4; charset=utf-8',
      }),
    },
  ];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://mailhole.invalid');
    if (loopback && !hostHeaderIsLoopback(req.headers.host, host)) {
      throw new HttpError(
        403,
        `Host header ${JSON.stringify(req.headers.host)} is not a loopback name: the API answers only requests addressed to this machine`,
      );
    }
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    if (
      (origin !== undefined && origin !== `http://${req.headers.host}`) ||
      site === 'cross-site' ||
      site === 'same-site'
    ) {
      throw new HttpError(
        403,
        `cross-origin requests are refused (Origin ${origin ?? site}): call the API from a test or a script, not from a web page`,
      );
    }
    // The inbox page holds no data (it asks for it with the token), so a browser loads it without one.
    if (inbox.serveAsset(req, res, url.pathname)) return;
    if (tokenDigest !== undefined) {
      const header = req.headers.authorization;
      // The scheme is case-insensitive (RFC 9110 §11.1): "bearer", "BEARER" and "Bearer" are one.
      const scheme = header === undefined ? undefined : /^bearer[ \t]+(.+)$/i.exec(header);
      const given = scheme?.[1]?.trim();
      const challenge = { 'WWW-Authenticate': 'Bearer realm="mailhole"' };
      if (given === undefined) {
        throw new HttpError(
          401,
          'this API needs a token: send "Authorization: Bearer <token>" (connectSink(url, { token }))',
          challenge,
        );
      }
      if (!timingSafeEqual(digest(given), tokenDigest))
        throw new HttpError(
          401,
          'the bearer token is wrong: send the token the sink was started with (api.token, --token or MAILHOLE_API_TOKEN)',
          challenge,
        );
    }
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
    const { filter, extra } = parseQuery(url.searchParams, route.params, lastMark);
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
      const where = `${urlHost(host)}:${port}`;
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
  url = `http://${urlHost(host)}:${boundPort}`;

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

const NO_CACHE = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', Connection: 'close' };

function send(res: ServerResponse, status: number, json: unknown, headers: Record<string, string> = {}): void {
  const body = `${JSON.stringify(json)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...NO_CACHE,
    ...headers,
  });
  res.end(body);
}

/** `limit` and `after` of a list route: at most API_PAGE_LIMIT records an answer. */
function pageParams(extra: Map<string, string>): { after: number | undefined; limit: number; newest: boolean } {
  const given = extra.get('limit');
  const after = extra.get('after');
  return {
    limit: intParam(given, 'limit', API_PAGE_LIMIT, 0, API_PAGE_LIMIT),
    after: after === undefined ? undefined : intParam(after, 'after', 0, 0, Number.MAX_SAFE_INTEGER),
    newest: given !== undefined,
  };
}

/** A delivery or message id from a URL path, checked. */
function decodeId(encoded: string, what: 'delivery' | 'message'): string {
  let id: string;
  try {
    id = decodeURIComponent(encoded);
  } catch {
    throw new HttpError(400, `${what} id ${JSON.stringify(encoded)} is not valid percent-encoding`);
  }
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(id)) {
    const list = what === 'message' ? 'GET /api/messages' : 'GET /api/deliveries';
    throw new HttpError(
      400,
      `${what} id ${JSON.stringify(id)} is malformed: use an id from ${list} (letters, digits, ".", "_", "-")`,
    );
  }
  return id;
}

function markJson(mark: Mark): Mark & { token: string } {
  return { ...mark, token: markToken(mark) };
}

/** Reads a POST body: empty (`undefined`), or a JSON object; bad JSON is named. */
async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY) {
    // Drained, not read: the client can finish sending and read the 413 instead of a reset.
    req.resume();
    throw new HttpError(413, `request body too large: ${declared} octets, the limit is ${MAX_BODY}`);
  }
  const parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_BODY) {
      req.resume();
      throw new HttpError(413, `request body too large: more than ${MAX_BODY} octets`);
    }
    parts.push(chunk);
  }
  const text = Buffer.concat(parts).toString('utf8').trim();
  if (text === '') return undefined;
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(
      415,
      `a request body must be JSON (Content-Type: application/json), got ${JSON.stringify(type)}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'the request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** @internal `host` is a loopback address or name: an API bound there is private to this machine. */
export function isLoopback(host: string): boolean {
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  return host === 'localhost' || host === '::1' || (isIP(v4) === 4 && v4.startsWith('127.'));
}

/** A DNS-rebinding page reaches a loopback API under a foreign Host name: only loopback names pass. */
function hostHeaderIsLoopback(header: string | undefined, bound: string): boolean {
  if (header === undefined) return true;
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(header);
  if (m === null) return false;
  const name = (m[1] as string).replace(/^\[|\]$/g, '').toLowerCase();
  return name === bound || isLoopback(name) || name.endsWith('.localhost');
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
