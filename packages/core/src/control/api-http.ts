import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeliveryFilter, Mark } from '../record/recorder.js';
import { API_PAGE_LIMIT } from './paging.js';
import { intParam, markToken } from './query.js';

// The control API's HTTP plumbing: routes as data, JSON answers and errors, request bodies.

/** Largest request body (a fault rule in JSON). */
export const MAX_BODY = 64 * 1024;

/** An answer other than 200, as JSON `{ error, status }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A route: method, path pattern, the query parameters it takes, and its handler. */
export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  pattern: RegExp;
  params: readonly string[];
  handle(request: Request): Promise<Reply> | Reply;
}

/** What a handler gets. */
export interface Request {
  match: RegExpExecArray;
  filter: DeliveryFilter;
  extra: Map<string, string>;
  signal: AbortSignal;
  /** The JSON object of a POST body, when one was sent. */
  body: Record<string, unknown> | undefined;
}

/** What a handler answers: JSON, or a body of its own type. */
export type Reply = { json: unknown; status?: number } | { body: Buffer | string; type: string };

export const NO_CACHE = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', Connection: 'close' };

/** Sends a JSON answer (errors included: `{ error, status }`). */
export function send(res: ServerResponse, status: number, json: unknown, headers: Record<string, string> = {}): void {
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
/** The paging parameters of a list route. */
export function pageParams(extra: Map<string, string>): { after: number | undefined; limit: number; newest: boolean } {
  const given = extra.get('limit');
  const after = extra.get('after');
  return {
    limit: intParam(given, 'limit', API_PAGE_LIMIT, 0, API_PAGE_LIMIT),
    after: after === undefined ? undefined : intParam(after, 'after', 0, 0, Number.MAX_SAFE_INTEGER),
    newest: given !== undefined,
  };
}

/** A delivery or message id from a URL path, checked. */
/** A delivery or message id from the path, checked. */
export function decodeId(encoded: string, what: 'delivery' | 'message'): string {
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

/** A mark as JSON, with its URL token. */
export function markJson(mark: Mark): Mark & { token: string } {
  return { ...mark, token: markToken(mark) };
}

/** Reads a POST body: empty (`undefined`), or a JSON object; bad JSON is named. */
export async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
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
