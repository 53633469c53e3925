// Node's URL, not the global: a Jest jsdom environment brings its own.
import { setTimeout } from 'node:timers';
import { URL } from 'node:url';
import type { Mode } from '../behaviour/modes.js';
import { CapturedMessage } from '../record/parsed.js';
import type {
  DeliveryFilter,
  DeliveryPredicate,
  Mark,
  SinkStats,
  WaitOptions,
  WaitTarget,
} from '../record/recorder.js';
import type { DeliveryRecord } from '../record/records.js';
import type { SessionTranscriptRecord } from '../record/transcript.js';
import { checkWaitCount, WaitTimeoutError, waitTimedOut, waitTimeout } from '../record/wait.js';
import type { MailSink, ViewScope } from '../server/mail-sink.js';
import { type ClientTlsOverrides, type ClientTlsSettings, clientTlsSettings } from '../tls/client-settings.js';
import { ApiClient, RemoteError } from './api-client.js';
import { filterToQuery } from './query.js';
import { RemoteFaultRules } from './remote-faults.js';
import { RemoteSinkView } from './remote-view.js';

export { RemoteSinkView } from './remote-view.js';

import type { SinkInfo } from './target.js';

/** Options of `connectSink`. */
export interface ConnectOptions {
  /** Bearer token, when the API was started with one. Default: `MAILHOLE_API_TOKEN` from the environment. */
  token?: string;
  /** Milliseconds a request may take before it fails (waits get their own timeout on top). Default 10000. */
  timeout?: number;
}

export { RemoteError };

/** Time a long-poll may take beyond the wait's own timeout before the client gives up on the server. */
const WAIT_GRACE_MS = 10_000;

/**
 * Connects to the control API of a sink in another process (`mailhole serve`, a Jest
 * globalSetup, a CI service) and returns an object with the same methods as an in-process sink,
 * made async. Address fields (`host`, `port`, `url`, `tlsPort`, `ca`) are filled in from `/api/info`.
 * It speaks HTTP with node:http, so it works where there is no global `fetch` (Jest's jsdom environment).
 *
 * @example const sink = await connectSink(process.env.MAILHOLE_API_URL); await sink.waitFor(1);
 */
export async function connectSink(
  apiUrl: string | undefined = process.env.MAILHOLE_API_URL,
  options: ConnectOptions = {},
): Promise<RemoteSink> {
  if (typeof apiUrl !== 'string' || apiUrl === '') {
    throw new TypeError(
      'connectSink: give the control API URL (e.g. http://127.0.0.1:8025), or set MAILHOLE_API_URL in the environment',
    );
  }
  let base: URL;
  try {
    base = new URL(apiUrl);
  } catch {
    throw new TypeError(`connectSink: ${JSON.stringify(apiUrl)} is not a URL; expected e.g. http://127.0.0.1:8025`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new TypeError(`connectSink: the control API is served over http, got ${JSON.stringify(apiUrl)}`);
  }
  const timeout = options.timeout ?? 10_000;
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new RangeError(`connectSink: option "timeout" must be a number of milliseconds > 0, got ${timeout}`);
  }
  const client = new ApiClient(apiUrl.replace(/\/+$/, ''), options.token ?? process.env.MAILHOLE_API_TOKEN, timeout);
  const info = await client.json<SinkInfo>('GET', '/api/info');
  return new RemoteSink(client, info);
}

/**
 * A sink in another process, through its control API. The same methods as `Sink`, async.
 * Holds no connection between calls, so a test runner exits at once.
 *
 * @example const sink = await connectSink(url); const view = await sink.view({ to: 'me@test' }); await view.waitFor(1);
 */
export class RemoteSink implements MailSink<'remote'> {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly tlsPort: number | undefined;
  readonly tlsUrl: string | undefined;
  readonly ca: string | undefined;
  /** Base URL of the control API. */
  readonly apiUrl: string;
  /** What `/api/info` answered when connecting (options in force, workers). */
  readonly info: SinkInfo;
  /** Seed of every random choice of the sink: start a sink with it as `seed` to repeat a run. */
  readonly seed: number;
  /**
   * Fault rules of the sink, added and removed while it runs: the methods of `sink.faults`, async.
   *
   * @example const rule = await sink.faults.failNext(451); await send(); await rule.remove();
   */
  readonly faults: RemoteFaultRules;

  /** @internal use `connectSink` */
  constructor(
    private readonly client: ApiClient,
    info: SinkInfo,
  ) {
    this.info = info;
    this.host = info.host;
    this.port = info.port;
    this.url = info.url;
    this.tlsPort = info.tlsPort;
    this.tlsUrl = info.tlsUrl;
    this.ca = info.ca;
    this.seed = info.seed;
    this.apiUrl = client.base;
    this.faults = new RemoteFaultRules(client);
  }

  /** Every counter. */
  stats(): Promise<SinkStats> {
    return this.client.json<SinkStats>('GET', '/api/stats');
  }

  /** Accepted deliveries: messages whose final reply to DATA or BDAT LAST was 2xx. */
  async accepted(): Promise<number> {
    return (await this.stats()).accepted;
  }

  /** A point in the sink's history, to count or wait for what comes after it. */
  async mark(): Promise<Mark> {
    const { seq, acceptedTotal } = await this.client.json<Mark>('GET', '/api/mark');
    return { seq, acceptedTotal };
  }

  /** Accepted deliveries after `mark` (exact, even when old records were dropped). */
  async acceptedSince(mark: Mark): Promise<number> {
    return (await this.mark()).acceptedTotal - mark.acceptedTotal;
  }

  /** Kept delivery records (accepted ones unless the filter says `includeRejected`), oldest first. */
  async deliveries(filter: DeliveryFilter | DeliveryPredicate = {}): Promise<DeliveryRecord[]> {
    return (await this.deliveriesAndMark(filter)).deliveries;
  }

  /** Kept messages (capture `full`) of the deliveries matching the filter, with their raw octets. */
  async messages(filter: DeliveryFilter | DeliveryPredicate = {}): Promise<CapturedMessage[]> {
    const messages = await this.pages<{ id: string; record: DeliveryRecord }>(
      '/api/messages',
      'messages',
      typeof filter === 'function' ? {} : filter,
    );
    for (const m of messages) m.record = await this.whole(m.record);
    const wanted = typeof filter === 'function' ? messages.filter((m) => filter(m.record)) : messages;
    const out: CapturedMessage[] = [];
    // A few at a time: enough to hide latency, few enough not to flood a sink under load.
    for (let i = 0; i < wanted.length; i += 8) {
      const batch = wanted.slice(i, i + 8);
      const raws = await Promise.all(batch.map((m) => this.raw(m.id)));
      batch.forEach((m, j) => {
        const raw = raws[j];
        if (raw !== undefined) out.push(new CapturedMessage(m.record, raw));
      });
    }
    return out;
  }

  /** The kept message of a delivery, by id; `undefined` when there is none (or it was dropped). */
  async message(id: string): Promise<CapturedMessage | undefined> {
    const path = `/api/messages/${encodeURIComponent(id)}`;
    const answer = await this.client.send('GET', `${path}?parsed=false`, undefined, [404]);
    if (answer.status === 404) return undefined;
    const { record } = JSON.parse(answer.body.toString('utf8')) as { record: DeliveryRecord };
    const raw = await this.raw(id);
    return raw === undefined ? undefined : new CapturedMessage(record, raw);
  }

  /**
   * Resolves when `target` is reached (a count of accepted deliveries, a filter, or a predicate);
   * rejects with a `WaitTimeoutError` after `timeout` ms saying what arrived. Counts and filters
   * are waited for by the sink (one long-poll); a predicate is checked here, re-fetching the
   * deliveries each time a new one arrives.
   *
   * @example await sink.waitFor({ to: 'bob@test', subject: 'Welcome' }, { timeout: 5000 });
   */
  waitFor(target: WaitTarget, options: WaitOptions = {}): Promise<DeliveryRecord[]> {
    return this.wait(target, options, {});
  }

  /** Zeroes the counters and forgets the records. */
  async reset(): Promise<void> {
    await this.client.json('POST', '/api/reset');
  }

  /** A human-readable report of what the sink saw (for failure messages). */
  async describe(): Promise<string> {
    return (await this.client.json<{ description: string }>('GET', '/api/describe')).description;
  }

  /**
   * Switches the sink-wide mode while it runs, like `sink.setMode` (`POST /api/mode`).
   *
   * @example await remote.setMode('bounce'); await remote.setMode('random', 0.8);
   */
  async setMode(mode: Mode, acceptRatio?: number): Promise<void> {
    await this.client.json(
      'POST',
      '/api/mode',
      undefined,
      acceptRatio === undefined ? { mode } : { mode, acceptRatio },
    );
  }

  /**
   * The command/reply transcript of a session, by connection id (`record.connectionId`), like
   * `sink.transcript` (`GET /api/sessions/:id`); `undefined` when it is no longer kept.
   *
   * @example const t = await remote.transcript((await remote.deliveries())[0].connectionId);
   */
  async transcript(connectionId: number): Promise<SessionTranscriptRecord | undefined> {
    try {
      return await this.client.json<SessionTranscriptRecord>('GET', `/api/sessions/${connectionId}`);
    } catch (error) {
      if (error instanceof RemoteError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * A per-test window: counts only what comes after now, optionally only mail to/from an address,
   * so concurrent tests on one shared sink don't see each other's mail.
   *
   * @example const mine = await sink.view({ to: 'user-7@test' }); await send(); expect(await mine.accepted()).toBe(1);
   */
  async view(scope: ViewScope = {}): Promise<RemoteSinkView> {
    return new RemoteSinkView(this, scope, await this.mark());
  }

  /** The counters in the Prometheus text format (`GET /metrics`). */
  async metrics(): Promise<string> {
    return (await this.client.send('GET', '/metrics')).body.toString('utf8');
  }

  /**
   * TLS settings for a client that verifies this sink, e.g. nodemailer's `tls` option: the same
   * settings the sink's own `clientTls()` gives in its process.
   *
   * @example nodemailer.createTransport({ host: sink.host, port: sink.port, requireTLS: true, tls: sink.clientTls() });
   */
  clientTls(overrides?: ClientTlsOverrides): ClientTlsSettings {
    if (this.ca === undefined) {
      throw new Error('sink.clientTls(): this sink has no TLS; start it with --starttls or --tls-port (tls option)');
    }
    return clientTlsSettings(
      this.ca,
      this.info.servername ?? 'localhost',
      this.info.options.minTlsVersion ?? 'TLSv1.2',
      overrides,
    );
  }

  /** @internal takes a mark the server remembers as `last` (`mailhole mark`, then `mailhole wait --since-mark`). */
  async takeMark(): Promise<Mark> {
    const { seq, acceptedTotal } = await this.client.json<Mark>('POST', '/api/mark');
    return { seq, acceptedTotal };
  }

  /** @internal a wait with `since` as a URL token (`last` included), for `mailhole wait`. */
  async waitForQuery(
    filter: DeliveryFilter,
    count: number,
    timeout: number,
    since: string | undefined,
  ): Promise<DeliveryRecord[]> {
    const answer = await this.longPoll((left) => filterToQuery(filter, { count, timeout: left, since }), timeout);
    if (!answer.reached) throw new WaitTimeoutError(answer.message, answer.expected, answer.received);
    return Promise.all(answer.deliveries.map((r) => this.whole(r)));
  }

  /** @internal deliveries with the mark they were read at (atomic on the server). */
  async deliveriesAndMark(
    filter: DeliveryFilter | DeliveryPredicate,
    scope: DeliveryFilter = {},
  ): Promise<{ deliveries: DeliveryRecord[]; mark: Mark }> {
    const query = typeof filter === 'function' ? scope : { ...filter, ...scope };
    let mark: Mark | undefined;
    const all = await this.pages<DeliveryRecord>('/api/deliveries', 'deliveries', query, (m) => {
      mark ??= m;
    });
    // Pages after the first may hold records that arrived since: the first page's mark is the one truth.
    const upTo = (mark as Mark).seq;
    const records = await Promise.all(all.filter((r) => r.seq <= upTo).map((r) => this.whole(r)));
    const deliveries = typeof filter === 'function' ? records.filter(filter) : records;
    return { deliveries, mark: mark as Mark };
  }

  /** Every page of a list route (the API answers at most 1000 records at a time), in order. */
  private async pages<T>(
    path: string,
    key: 'deliveries' | 'messages',
    filter: DeliveryFilter,
    onMark?: (mark: Mark) => void,
  ): Promise<T[]> {
    const out: T[] = [];
    let after: number | undefined;
    for (;;) {
      const query = filterToQuery(filter, { after });
      const answer = await this.client.json<Record<typeof key, T[]> & { mark: Mark; next?: number }>(
        'GET',
        `${path}${query ? `?${query}` : ''}`,
      );
      onMark?.({ seq: answer.mark.seq, acceptedTotal: answer.mark.acceptedTotal });
      out.push(...answer[key]);
      if (answer.next === undefined) return out;
      after = answer.next;
    }
  }

  /** A record cut short in a list (`truncated`), fetched whole; any other record as it is. */
  private async whole(record: DeliveryRecord): Promise<DeliveryRecord> {
    if (record.truncated !== true) return record;
    const answer = await this.client.send('GET', `/api/deliveries/${encodeURIComponent(record.id)}`, undefined, [404]);
    // Dropped from the records meanwhile: the cut record is all there is.
    if (answer.status === 404) return record;
    return (JSON.parse(answer.body.toString('utf8')) as { delivery: DeliveryRecord }).delivery;
  }

  /** @internal */
  async wait(target: WaitTarget, options: WaitOptions, scope: DeliveryFilter): Promise<DeliveryRecord[]> {
    const timeout = waitTimeout(options.timeout);
    if (typeof target === 'number') checkWaitCount(target);
    const since = options.since ?? scope.since;
    const scoped = scope.to !== undefined || scope.from !== undefined;
    if (typeof target === 'function') return this.waitForPredicate(target, options, scope, timeout);
    let query: (left: number) => string;
    if (typeof target === 'number' && !scoped) {
      query = (left) => filterToQuery(since ? { since } : {}, { count: target, timeout: left });
    } else {
      const filter = typeof target === 'number' ? scope : { ...target, ...scope };
      const count = typeof target === 'number' ? target : (options.count ?? 1);
      if (count === 0) return this.deliveries({ ...filter, ...(since ? { since } : {}) });
      query = (left) => filterToQuery({ ...filter, ...(since ? { since } : {}) }, { count, timeout: left });
    }
    const answer = await this.longPoll(query, timeout);
    if (!answer.reached) throw new WaitTimeoutError(answer.message, answer.expected, answer.received);
    return Promise.all(answer.deliveries.map((r) => this.whole(r)));
  }

  private async waitForPredicate(
    predicate: DeliveryPredicate,
    options: WaitOptions,
    scope: DeliveryFilter,
    timeout: number,
  ): Promise<DeliveryRecord[]> {
    const wanted = options.count ?? 1;
    const since = options.since ?? scope.since;
    const filter: DeliveryFilter = { ...scope, ...(since ? { since } : {}) };
    const deadline = Date.now() + timeout;
    for (;;) {
      const { deliveries, mark } = await this.deliveriesAndMark(predicate, filter);
      if (deliveries.length >= wanted) return deliveries;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw waitTimedOut(timeout, wanted, deliveries.length, 'predicate', await this.describe());
      }
      // Sleep on the server until anything new arrives after what was just checked, then check again.
      await this.longPoll(
        (rest) => filterToQuery({ since: mark, includeRejected: true }, { count: 1, timeout: rest }),
        left,
      );
    }
  }

  /**
   * One wait of `timeout` ms on the server, however the server bounds it: a wait cut short at the
   * server's `maxWaitTimeout` is asked again for the time left, and a 429 (too many waits at once)
   * is retried after its `Retry-After`.
   */
  private async longPoll(query: (timeout: number) => string, timeout: number): Promise<WaitAnswer> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const left = Math.max(0, Math.ceil(deadline - Date.now()));
      const path = `/api/wait?${query(left)}`;
      const answer = await this.client.send('GET', path, left + WAIT_GRACE_MS, [429]);
      const body = JSON.parse(answer.body.toString('utf8')) as WaitAnswer & { error?: string };
      if (answer.status === 429) {
        const pause = 1000;
        if (Date.now() + pause > deadline) {
          throw new RemoteError(
            `the mailhole control API at ${this.client.base} answered GET /api/wait with 429 until the wait's timeout: ${body.error}`,
            429,
            { detail: body.error ?? '' },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
        continue;
      }
      if (body.reached || deadline - Date.now() <= 0) return body;
    }
  }

  private async raw(id: string): Promise<Buffer | undefined> {
    const answer = await this.client.send('GET', `/api/messages/${encodeURIComponent(id)}/raw`, undefined, [404]);
    return answer.status === 404 ? undefined : answer.body;
  }
}

type WaitAnswer =
  | { reached: true; expected: number; received: number; deliveries: DeliveryRecord[] }
  | { reached: false; expected: number; received: number; message: string };
