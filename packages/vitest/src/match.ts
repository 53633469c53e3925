import type { DeliveryFilter, DeliveryRecord, WaitOptions } from '@mailhole/core';

/** What the matchers read in-process: a `Sink` or a `SinkView` (the `mailhole` fixture). */
export interface LocalMailSource {
  readonly accepted: number;
  deliveries(filter?: DeliveryFilter): DeliveryRecord[];
  waitFor(target: number, options?: WaitOptions): Promise<DeliveryRecord[]>;
  describe(): string;
}

/** What the matchers read remotely: a sink reached through its control API, where every read is async. */
export interface RemoteMailSource {
  accepted(): Promise<number>;
  deliveries(filter?: DeliveryFilter): Promise<DeliveryRecord[]>;
  waitFor(target: number, options?: WaitOptions): Promise<DeliveryRecord[]>;
  describe(): Promise<string>;
}

/** Anything the matchers accept. */
export type MailSource = LocalMailSource | RemoteMailSource;

/** Options of `toReceive`. */
export interface ReceiveOptions {
  /** Milliseconds to wait before the assertion fails (default 3000, as `waitFor`). */
  timeout?: number;
}

/** The part of Vitest's matcher state the matchers use; the same in Vitest 4 and 5. */
interface MatcherContext {
  isNot: boolean;
  utils: {
    matcherHint(name: string, received?: string, expected?: string, options?: { isNot?: boolean }): string;
  };
}

interface MatcherResult {
  pass: boolean;
  message: () => string;
}

function isLocal(source: MailSource): source is LocalMailSource {
  return typeof source.accepted === 'number';
}

function checkSource(received: unknown, matcher: string): MailSource {
  const s = received as Partial<Record<'accepted' | 'deliveries' | 'waitFor' | 'describe', unknown>> | null;
  const ok =
    s !== null &&
    typeof s === 'object' &&
    (typeof s.accepted === 'number' || typeof s.accepted === 'function') &&
    typeof s.deliveries === 'function' &&
    typeof s.waitFor === 'function' &&
    typeof s.describe === 'function';
  if (!ok) {
    throw new TypeError(
      `${matcher}: expected a mailhole sink, view or remote sink (the mailhole or sharedMailhole fixture), got ${describeValue(received)}`,
    );
  }
  return received as MailSource;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return `${typeof value} ${String(value)}`;
  return `an object with keys ${Object.keys(value).join(', ') || '(none)'}`;
}

function checkCount(value: unknown, matcher: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`${matcher}: the expected count must be a whole number >= 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkAddress(value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(
      `toHaveReceivedMailTo: the expected recipient must be an address such as "ada@example.test", got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function checkTimeout(options: unknown): number | undefined {
  if (options === undefined) return undefined;
  const timeout = (options as ReceiveOptions | null)?.timeout;
  if (timeout === undefined) return undefined;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
    throw new RangeError(`toReceive: option "timeout" must be milliseconds >= 0, got ${JSON.stringify(timeout)}`);
  }
  return timeout;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

// The sink's own report follows every message: a failure says what arrived, not only "expected 1, got 0".
function withReport(text: string, report: string): string {
  return `${text}\n\n${report}`;
}

function acceptedResult(ctx: MatcherContext, expected: number, actual: number, report: string): MatcherResult {
  const hint = ctx.utils.matcherHint('toHaveAccepted', 'mailhole', String(expected), { isNot: ctx.isNot });
  return {
    pass: actual === expected,
    message: () =>
      actual === expected
        ? withReport(
            `${hint}\n\nExpected the sink not to have accepted ${plural(expected, 'delivery', 'deliveries')}, but it did.`,
            report,
          )
        : withReport(
            `${hint}\n\nExpected ${plural(expected, 'accepted delivery', 'accepted deliveries')}, received ${actual}.`,
            report,
          ),
  };
}

function mailToResult(ctx: MatcherContext, address: string, all: DeliveryRecord[], report: string): MatcherResult {
  // Matched here rather than with a `{ to }` filter: on a view scoped to another recipient the
  // filter's address would give way to the view's own.
  const wanted = address.toLowerCase();
  const matching = all.filter((r) => r.recipients.some((a) => a.toLowerCase() === wanted)).length;
  const hint = ctx.utils.matcherHint('toHaveReceivedMailTo', 'mailhole', JSON.stringify(address), {
    isNot: ctx.isNot,
  });
  const recipients = [...new Set(all.flatMap((r) => r.recipients))];
  const seen =
    recipients.length === 0 ? 'no accepted delivery has a recipient' : `recipients seen: ${recipients.join(', ')}`;
  return {
    pass: matching > 0,
    message: () =>
      matching > 0
        ? withReport(
            `${hint}\n\nExpected no delivery to <${address}>, but ${plural(matching, 'delivery', 'deliveries')} went to it.`,
            report,
          )
        : withReport(`${hint}\n\nExpected a delivery to <${address}>, but none arrived (${seen}).`, report),
  };
}

/**
 * The matchers, for `expect.extend`. Importing `@mailhole/vitest` (or `@mailhole/vitest/matchers`)
 * registers them; this object is for registering them with another `expect` yourself.
 *
 * @example expect.extend(mailholeMatchers); expect(mailhole).toHaveAccepted(1);
 */
export const mailholeMatchers = {
  /** The sink or view accepted exactly `count` deliveries. Synchronous in-process; await it for a remote sink. */
  toHaveAccepted(this: MatcherContext, received: unknown, count: number): MatcherResult | Promise<MatcherResult> {
    const source = checkSource(received, 'toHaveAccepted');
    const expected = checkCount(count, 'toHaveAccepted');
    if (isLocal(source)) return acceptedResult(this, expected, source.accepted, source.describe());
    return Promise.all([source.accepted(), source.describe()]).then(([actual, report]) =>
      acceptedResult(this, expected, actual, report),
    );
  },

  /**
   * An accepted delivery has `address` among its envelope recipients (needs capture `envelope` or
   * `full`). Synchronous in-process; await it for a remote sink.
   */
  toHaveReceivedMailTo(
    this: MatcherContext,
    received: unknown,
    address: string,
  ): MatcherResult | Promise<MatcherResult> {
    const source = checkSource(received, 'toHaveReceivedMailTo');
    const to = checkAddress(address);
    if (isLocal(source)) return mailToResult(this, to, source.deliveries(), source.describe());
    return Promise.all([source.deliveries(), source.describe()]).then(([all, report]) =>
      mailToResult(this, to, all, report),
    );
  },

  /**
   * Waits until the sink or view has accepted at least `count` deliveries, failing after `timeout`
   * ms with what did arrive. Always awaited.
   */
  async toReceive(
    this: MatcherContext,
    received: unknown,
    count: number,
    options?: ReceiveOptions,
  ): Promise<MatcherResult> {
    const source = checkSource(received, 'toReceive');
    const expected = checkCount(count, 'toReceive');
    const timeout = checkTimeout(options);
    const hint = this.utils.matcherHint('toReceive', 'mailhole', String(expected), { isNot: this.isNot });
    try {
      await source.waitFor(expected, timeout === undefined ? {} : { timeout });
    } catch (error) {
      // Only a timeout is an assertion failure; a closed sink or a bad argument is an error of its own.
      if ((error as { name?: unknown } | undefined)?.name !== 'WaitTimeoutError') throw error;
      const message = (error as Error).message;
      return { pass: false, message: () => `${hint}\n\n${message}` };
    }
    const report = await source.describe();
    const within = timeout === undefined ? '' : ` within ${timeout} ms`;
    return {
      pass: true,
      message: () =>
        withReport(
          `${hint}\n\nExpected the sink not to receive ${plural(expected, 'delivery', 'deliveries')}${within}, but it did.`,
          report,
        ),
    };
  },
};

/** The matchers' signatures, as `expect(mailhole)` shows them. */
export interface MailholeMatchers {
  /**
   * The sink or view accepted exactly `count` deliveries (the `mailhole` fixture: in the current
   * test). In-process it is synchronous; a remote sink (`sharedMailhole`) needs `await`.
   *
   * @example expect(mailhole).toHaveAccepted(1);
   */
  toHaveAccepted(count: number): void;
  /**
   * An accepted delivery went to `address` (an envelope recipient). A remote sink needs `await`.
   *
   * @example expect(mailhole).toHaveReceivedMailTo('ada@example.test');
   */
  toHaveReceivedMailTo(address: string): void;
  /**
   * Waits until at least `count` deliveries were accepted, or fails after `timeout` ms saying what arrived.
   *
   * @example await expect(mailhole).toReceive(2, { timeout: 5000 });
   */
  toReceive(count: number, options?: ReceiveOptions): Promise<void>;
}

declare global {
  // Vitest 4 reads custom matchers from `Matchers<T>`, Vitest 5 from `Matchers<R, T>`: declarations
  // with different type parameters cannot merge, so one shape breaks the other major. Both map
  // every member of Chai's `Assertion` (which `expect.extend` really patches) into their own
  // `Assertion`, promisified under `.resolves`, so the matchers are typed there, once, for both.
  namespace Chai {
    interface Assertion extends MailholeMatchers {}
  }
}
