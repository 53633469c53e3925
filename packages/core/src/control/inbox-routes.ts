import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import type { URL } from 'node:url';
import { MODES, type Mode } from '../behaviour/modes.js';
import type { DeliveryRecord } from '../record/records.js';
import { HttpError, readBody } from './api-http.js';
import { INBOX_PAGE, INBOX_SCRIPT_SOURCE } from './inbox/assets.generated.js';
import {
  type InboxOutcome,
  type InboxPage,
  type InboxQuery,
  type InboxRow,
  inboxPage,
  inboxRow,
} from './inbox/rows.js';
import type { ControlTarget } from './target.js';

/** What the web inbox adds to the control API (see `serveControlApi`). */
export interface InboxRoutes {
  /** Serves the page at `GET /` (no data in it, so no token); false for other paths. */
  serveAsset(req: IncomingMessage, res: ServerResponse, pathname: string): boolean;
  /** Serves the inbox's API routes once the request passed the guard; false for other paths. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  /** The routes, for the API's 404 message. */
  readonly paths: string;
}

/** Rows at most in one page: a client pages through the rest. */
export const MAX_PAGE = 500;
/** Live streams at most at once: each holds a connection and a timer. */
export const MAX_STREAMS = 32;
/** Rows one live-stream batch carries at most; past it the client is told to reload its window. */
const MAX_BATCH = 200;
const BATCH_MS = 100;
const STATS_MS = 1000;
const HEARTBEAT_MS = 15_000;
const PAGE = Buffer.from(INBOX_PAGE, 'utf8');

const PATHS = '/api/inbox/deliveries, /api/inbox/events, /api/sessions/:connectionId, /api/mode';

/**
 * Security headers of the page. Its one script runs by its hash (nothing else, inline or not); mail HTML is shown in a
 * sandboxed `srcdoc` frame (no `allow-scripts`, no `allow-same-origin`) whose own policy, set per
 * message by the page, decides whether remote images load. A `srcdoc` frame inherits this policy
 * too, so remote images and styles must pass here for the "allow remote content" switch to work.
 */
const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy': [
    "default-src 'none'",
    `script-src ${INBOX_SCRIPT_SOURCE}`,
    "style-src 'self' 'unsafe-inline' http: https:",
    "img-src 'self' data: blob: http: https:",
    'font-src data: http: https:',
    "connect-src 'self'",
    "frame-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; '),
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};

/**
 * The web inbox's part of the control API: the page (`/`, `/inbox/*`), a paged list
 * (`/api/inbox/deliveries`), a live feed (`/api/inbox/events`, server-sent events), session
 * transcripts (`/api/sessions/:connectionId`) and the mode switch (`POST /api/mode`). Clearing
 * and fault rules use the API's own routes, so the page has exactly the API's effect.
 *
 * @example const inbox = inboxRoutes(sinkTarget(sink)); if (await inbox.handle(req, res, url)) return;
 */
export function inboxRoutes(target: ControlTarget): InboxRoutes {
  let streams = 0;

  const records = (): DeliveryRecord[] => {
    const why = target.recordsUnavailable();
    if (why !== undefined) throw new HttpError(409, why);
    return target.deliveries({ includeRejected: true });
  };

  const list = (url: URL): InboxPage & { stats: unknown } => {
    const params = url.searchParams;
    for (const key of params.keys()) {
      if (!['offset', 'limit', 'q', 'outcome', 'to', 'from', 'subject'].includes(key)) {
        throw new HttpError(
          400,
          `unknown query parameter "${key}" (known: offset, limit, q, outcome, to, from, subject)`,
        );
      }
    }
    const offset = whole(params.get('offset'), 'offset', 0, Number.MAX_SAFE_INTEGER, 0);
    const limit = whole(params.get('limit'), 'limit', 0, MAX_PAGE, 100);
    const outcome = params.get('outcome') ?? undefined;
    if (outcome !== undefined && outcome !== '' && !['accepted', 'deferred', 'bounced'].includes(outcome)) {
      throw new HttpError(400, `outcome must be accepted, deferred or bounced, got ${JSON.stringify(outcome)}`);
    }
    const query: InboxQuery = {};
    for (const key of ['q', 'to', 'from', 'subject'] as const) {
      const value = params.get(key);
      if (value !== null && value !== '') query[key] = value;
    }
    if (outcome !== undefined && outcome !== '') query.outcome = outcome as InboxOutcome;
    return { ...inboxPage(records(), query, offset, limit), stats: target.stats() };
  };

  const events = (req: IncomingMessage, res: ServerResponse): void => {
    if (streams >= MAX_STREAMS) {
      throw new HttpError(503, `too many live inbox streams (${MAX_STREAMS}): close other inbox tabs`);
    }
    streams++;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'X-Accel-Buffering': 'no',
    });
    const write = (event: string, data: unknown): void => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    let lastStats = JSON.stringify(target.stats());
    write('stats', JSON.parse(lastStats));
    let batch: InboxRow[] = [];
    let overflow = 0;
    let batchTimer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      batchTimer = undefined;
      if (overflow > 0) write('reload', { missed: overflow });
      else if (batch.length > 0) write('deliveries', batch);
      batch = [];
      overflow = 0;
      lastStats = JSON.stringify(target.stats());
      write('stats', JSON.parse(lastStats));
    };
    const unsubscribe =
      target.recordsUnavailable() === undefined
        ? target.subscribe?.((record) => {
            if (batch.length < MAX_BATCH) batch.push(inboxRow(record));
            else overflow++;
            batchTimer ??= setTimeout(flush, BATCH_MS);
          })
        : undefined;
    // Counters move without deliveries too (connections, refused recipients): sent when they change.
    const statsTimer = setInterval(() => {
      const now = JSON.stringify(target.stats());
      if (now !== lastStats) {
        lastStats = now;
        res.write(`event: stats\ndata: ${now}\n\n`);
      }
    }, STATS_MS);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    statsTimer.unref();
    heartbeat.unref();
    req.socket.setTimeout(0);
    res.once('close', () => {
      streams--;
      unsubscribe?.();
      clearTimeout(batchTimer);
      clearInterval(statsTimer);
      clearInterval(heartbeat);
    });
  };

  const session = (encoded: string): unknown => {
    const id = Number(encoded);
    if (!/^\d{1,15}$/.test(encoded) || !Number.isSafeInteger(id)) {
      throw new HttpError(400, `session id ${JSON.stringify(encoded)} must be a connection id (record.connectionId)`);
    }
    const why =
      target.transcriptsUnavailable?.() ??
      (target.transcript
        ? undefined
        : 'session transcripts are not kept here: each worker of "mailhole serve --workers" has its own');
    if (why !== undefined) throw new HttpError(409, why);
    const transcript = target.transcript?.(id);
    if (transcript === undefined) {
      throw new HttpError(
        404,
        `no transcript of session ${id}: it was dropped to stay within transcripts.maxSessions, cleared, or never existed`,
      );
    }
    return transcript;
  };

  const setMode = async (req: IncomingMessage): Promise<unknown> => {
    if (target.setMode === undefined) {
      throw new HttpError(
        409,
        'the mode cannot be switched here: each worker of "mailhole serve --workers" has its own',
      );
    }
    // An empty body is answered like one without a mode.
    const body = (await readBody(req)) ?? {};
    const mode = body.mode;
    const acceptRatio = body.acceptRatio;
    if (typeof mode !== 'string' || !(MODES as readonly string[]).includes(mode)) {
      throw new HttpError(
        400,
        `POST /api/mode needs {"mode": "accept" | "bounce" | "random"}, got ${JSON.stringify(mode)}`,
      );
    }
    if (acceptRatio !== undefined && (typeof acceptRatio !== 'number' || !(acceptRatio >= 0 && acceptRatio <= 1))) {
      throw new HttpError(400, `acceptRatio must be a number from 0 to 1, got ${JSON.stringify(acceptRatio)}`);
    }
    target.setMode(mode as Mode, acceptRatio as number | undefined);
    const options = target.info().options;
    return { mode: options.mode, acceptRatio: options.acceptRatio };
  };

  return {
    paths: PATHS,
    serveAsset(req, res, pathname) {
      if (pathname !== '/' && pathname !== '/index.html') return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(
          res,
          405,
          { error: `${req.method} ${pathname} is not allowed: use GET`, status: 405 },
          { Allow: 'GET, HEAD' },
        );
        return true;
      }
      res.writeHead(200, {
        ...PAGE_HEADERS,
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Length': PAGE.length,
      });
      res.end(req.method === 'HEAD' ? undefined : PAGE);
      return true;
    },
    async handle(req, res, url) {
      const path = url.pathname;
      const route =
        path === '/api/inbox/deliveries'
          ? 'list'
          : path === '/api/inbox/events'
            ? 'events'
            : path === '/api/mode'
              ? 'mode'
              : /^\/api\/sessions\/[^/]+$/.test(path)
                ? 'session'
                : undefined;
      if (route === undefined) return false;
      const method = route === 'mode' ? 'POST' : 'GET';
      try {
        if (req.method !== method) {
          sendJson(
            res,
            405,
            { error: `${req.method} ${path} is not allowed: use ${method}`, status: 405 },
            { Allow: method },
          );
          return true;
        }
        if (route === 'list') sendJson(res, 200, list(url));
        else if (route === 'events') events(req, res);
        else if (route === 'session')
          sendJson(res, 200, session(decodeURIComponent(path.slice('/api/sessions/'.length))));
        else sendJson(res, 200, await setMode(req));
      } catch (error) {
        if (res.headersSent) {
          res.destroy();
          return true;
        }
        if (error instanceof HttpError) sendJson(res, error.status, { error: error.message, status: error.status });
        else if (error instanceof URIError)
          sendJson(res, 400, { error: `${path} is not valid percent-encoding`, status: 400 });
        else throw error;
      }
      return true;
    },
  };
}

function whole(text: string | null, name: string, min: number, max: number, fallback: number): number {
  if (text === null || text === '') return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new HttpError(400, `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function sendJson(res: ServerResponse, status: number, json: unknown, headers: Record<string, string> = {}): void {
  const body = `${JSON.stringify(json)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(body);
}
