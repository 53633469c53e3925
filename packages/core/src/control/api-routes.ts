import { STAGE_NAMES, stageOf } from '../behaviour/delays.js';
import { type FaultRule, FaultRuleError, type FaultRules } from '../behaviour/faults.js';
import { parsedToJson } from '../record/parsed.js';
import type { Mark } from '../record/recorder.js';
import { DEFAULT_WAIT_MS, WaitTimeoutError } from '../record/wait.js';
import { hostPort } from '../server/url.js';
import { decodeId, HttpError, markJson, pageParams, type Route } from './api-http.js';
import { prometheusText } from './metrics.js';
import { listRecord, pageOf } from './paging.js';
import { FILTER_PARAMS, intParam, QueryError } from './query.js';
import type { ControlTarget, SinkInfo } from './target.js';

// The routes of the control API: what each path answers, over a `ControlTarget`.

/** Largest `timeout` a wait may ask for (it is then cut to `maxWaitTimeout`). */
export const MAX_WAIT_MS = 3_600_000;

/** Seconds a client turned away by `maxWaits` is told to wait (`Retry-After`). */
const WAIT_RETRY_AFTER = 1;

/** State the routes share with the server: its URL once bound, and the mark `since=last` refers to. */
export interface ApiState {
  url: string;
  lastMark: Mark | undefined;
  /** Waits (long-polls) in progress, at most `maxWaits`. */
  waits: number;
  readonly maxWaits: number;
  /** Longest a wait is held; a longer `timeout` is cut to it. */
  readonly maxWaitTimeout: number;
}

/** The routes of the control API over `target`. */
export function controlRoutes(target: ControlTarget, state: ApiState): Route[] {
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
      handle: () => ({ json: { ...target.info(), apiUrl: state.url } satisfies SinkInfo }),
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
        state.lastMark = target.mark();
        return { json: markJson(state.lastMark) };
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
        // Cut to state.maxWaitTimeout: the answer is then reached: false, and a client with time left asks again.
        const timeout = Math.min(
          intParam(extra.get('timeout'), 'timeout', DEFAULT_WAIT_MS, 0, MAX_WAIT_MS),
          state.maxWaitTimeout,
        );
        const filtered = Object.keys(filter).some((k) => k !== 'since');
        const count = intParam(extra.get('count'), 'count', 1, filtered ? 1 : 0, Number.MAX_SAFE_INTEGER);
        if (filtered) records();
        const { since, ...rest } = filter;
        const waitOptions = { timeout, signal, ...(since ? { since } : {}) };
        if (state.waits >= state.maxWaits) {
          throw new HttpError(
            429,
            `too many waits in progress (${state.maxWaits}, option api.maxWaits or mailhole serve --max-waits): retry after ${WAIT_RETRY_AFTER} s`,
            { 'Retry-After': String(WAIT_RETRY_AFTER) },
          );
        }
        state.waits++;
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
          state.waits--;
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
        body: prometheusText(target.stats(), hostPort(target.info().host, target.info().port)),
        type: 'text/plain; version=0.0.4; charset=utf-8',
      }),
    },
  ];
  return routes;
}
