import { URLSearchParams } from 'node:url';
import { HEADER_NAME } from '../protocol/header-section.js';
import type { DeliveryFilter, Mark } from '../record/recorder.js';

/**
 * How filters and marks travel in control API URLs, written by the remote client and read by the
 * server, so both sides agree by construction.
 *
 * - `to`, `from`, `subject`: as in `DeliveryFilter`;
 * - `header`: `name` or `name:value`;
 * - `since`: a mark as `seq:acceptedTotal` (the `token` of `POST /api/mark`), or `last` for the last
 *   mark taken with `POST /api/mark`;
 * - `includeRejected`: `true` or `false`.
 */
export const FILTER_PARAMS = ['to', 'from', 'subject', 'header', 'since', 'includeRejected'] as const;

/** A query parameter the caller got wrong; the API answers 400 with its message. */
export class QueryError extends Error {
  override name = 'QueryError';
}

/** `seq:acceptedTotal`, the form a mark takes in a URL. */
export function markToken(mark: Mark): string {
  return `${mark.seq}:${mark.acceptedTotal}`;
}

/** Reads a mark token; `last` resolves to the last mark taken through the API. */
export function parseMark(value: string, last: Mark | undefined): Mark {
  if (value === 'last') {
    if (last === undefined) throw new QueryError('since=last: no mark was taken yet; POST /api/mark first');
    return last;
  }
  const m = /^(\d{1,15}):(\d{1,15})$/.exec(value);
  if (m === null) {
    throw new QueryError(
      `since must be a mark "seq:acceptedTotal" as POST /api/mark returns in "token" (or "last"), got ${JSON.stringify(value)}`,
    );
  }
  return { seq: Number(m[1]), acceptedTotal: Number(m[2]) };
}

/** The query string form of a filter (without `?`). */
export function filterToQuery(filter: DeliveryFilter, extra: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams();
  if (filter.to !== undefined) params.set('to', filter.to);
  if (filter.from !== undefined) params.set('from', filter.from);
  if (filter.subject !== undefined) params.set('subject', filter.subject);
  if (filter.header !== undefined) {
    params.set(
      'header',
      filter.header.value === undefined ? filter.header.name : `${filter.header.name}:${filter.header.value}`,
    );
  }
  if (filter.since !== undefined) params.set('since', markToken(filter.since));
  if (filter.includeRejected !== undefined) params.set('includeRejected', String(filter.includeRejected));
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) params.set(key, String(value));
  return params.toString();
}

/**
 * Reads the query of a request: the filter, plus the `extra` parameters the route allows. Any other
 * parameter, a repeated one or a malformed value is a `QueryError` naming it.
 */
export function parseQuery(
  params: URLSearchParams,
  allowed: readonly string[],
  lastMark: Mark | undefined,
): { filter: DeliveryFilter; extra: Map<string, string> } {
  const filter: DeliveryFilter = {};
  const extra = new Map<string, string>();
  const seen = new Set<string>();
  for (const [key, value] of params) {
    if (!allowed.includes(key)) {
      throw new QueryError(
        `unknown query parameter "${key}"${allowed.length > 0 ? ` (this route takes: ${allowed.join(', ')})` : ' (this route takes none)'}`,
      );
    }
    if (seen.has(key)) throw new QueryError(`query parameter "${key}" is given more than once`);
    seen.add(key);
    switch (key) {
      case 'to':
      case 'from':
      case 'subject':
        filter[key] = value;
        break;
      case 'header': {
        const colon = value.indexOf(':');
        const name = (colon < 0 ? value : value.slice(0, colon)).trim();
        if (!HEADER_NAME.test(name)) {
          throw new QueryError(
            `header must be "name" or "name:value" with a header field name, got ${JSON.stringify(value)}`,
          );
        }
        filter.header = colon < 0 ? { name } : { name, value: value.slice(colon + 1).trim() };
        break;
      }
      case 'since':
        filter.since = parseMark(value, lastMark);
        break;
      case 'includeRejected':
        filter.includeRejected = parseBoolean(value, key);
        break;
      default:
        extra.set(key, value);
    }
  }
  return { filter, extra };
}

/** A whole number in `[min, max]` from a query parameter, or `fallback` when it is absent. */
export function intParam(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,15}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new QueryError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function parseBoolean(value: string, name: string): boolean {
  if (value === 'true' || value === '1' || value === '') return true;
  if (value === 'false' || value === '0') return false;
  throw new QueryError(`${name} must be true or false, got ${JSON.stringify(value)}`);
}
