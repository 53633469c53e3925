import type { DeliveryFilter, DeliveryPredicate, DeliveryRecord, WaitOptions } from '@mailhole/core';
import type { ExpectationResult, MatcherContext, SyncExpectationResult } from 'expect';

/** What the matchers accept in-process: a `Sink`, a `SinkView`, or a `mailhole` handle. */
export interface LocalMailSource {
  readonly accepted: number;
  deliveries(filter?: DeliveryFilter | DeliveryPredicate): DeliveryRecord[];
  waitFor(target: number, options?: WaitOptions): Promise<DeliveryRecord[]>;
  describe(): string;
}

/** What the matchers accept remotely: a sink reached through its control API (every read is async). */
export interface RemoteMailSource {
  accepted(): Promise<number>;
  deliveries(filter?: DeliveryFilter | DeliveryPredicate): Promise<DeliveryRecord[]>;
  waitFor(target: number, options?: WaitOptions): Promise<DeliveryRecord[]>;
  describe(): Promise<string>;
}

export type MailSource = LocalMailSource | RemoteMailSource;

/** Options of `toReceive`. */
export interface ReceiveOptions {
  /** Milliseconds to wait before failing (default 3000). */
  timeout?: number;
}

type Result = SyncExpectationResult;

function isLocal(source: MailSource): source is LocalMailSource {
  return typeof source.accepted === 'number';
}

function checkSource(received: unknown, matcher: string): MailSource {
  const s = received as Partial<Record<'accepted' | 'deliveries' | 'waitFor' | 'describe', unknown>> | null;
  const ok =
    s !== null &&
    (typeof s === 'object' || typeof s === 'function') &&
    (typeof s.accepted === 'number' || typeof s.accepted === 'function') &&
    typeof s.deliveries === 'function' &&
    typeof s.waitFor === 'function' &&
    typeof s.describe === 'function';
  if (!ok) {
    throw new TypeError(
      `${matcher}: expected a mailhole sink, view, handle or remote sink (with accepted, deliveries, waitFor and describe), got ${describeValue(received)}`,
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

function checkTimeout(options: unknown): number | undefined {
  const timeout = (options as ReceiveOptions | null | undefined)?.timeout;
  if (timeout === undefined) return undefined;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
    throw new RangeError(`toReceive: option "timeout" must be milliseconds >= 0, got ${JSON.stringify(timeout)}`);
  }
  return timeout;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function report(text: string): string {
  return `\n\n${text}`;
}

function acceptedResult(ctx: MatcherContext, expected: number, actual: number, describe: string): Result {
  const hint = ctx.utils.matcherHint('toHaveAccepted', 'mailhole', String(expected), { isNot: ctx.isNot });
  return {
    pass: actual === expected,
    message: () =>
      actual === expected
        ? `${hint}\n\nExpected the sink not to have accepted ${plural(expected, 'delivery', 'deliveries')}, but it did.${report(describe)}`
        : `${hint}\n\nExpected ${plural(expected, 'accepted delivery', 'accepted deliveries')}, received ${actual}.${report(describe)}`,
  };
}

function mailToResult(ctx: MatcherContext, address: string, all: DeliveryRecord[], describe: string): Result {
  // Matched here rather than with a `{ to }` filter: on a view scoped to another recipient the
  // filter's address would give way to the view's own.
  const wanted = address.toLowerCase();
  const matching = all.filter((r) => r.recipients.some((a) => a.toLowerCase() === wanted)).length;
  const hint = ctx.utils.matcherHint('toHaveReceivedMailTo', 'mailhole', JSON.stringify(address), { isNot: ctx.isNot });
  const recipients = [...new Set(all.flatMap((r) => r.recipients))];
  const seen =
    recipients.length === 0 ? 'no accepted delivery has a recipient' : `recipients seen: ${recipients.join(', ')}`;
  return {
    pass: matching > 0,
    message: () =>
      matching > 0
        ? `${hint}\n\nExpected no delivery to <${address}>, but ${plural(matching, 'delivery', 'deliveries')} went to it.${report(describe)}`
        : `${hint}\n\nExpected a delivery to <${address}>, but none arrived (${seen}).${report(describe)}`,
  };
}

function checkAddress(value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(
      `toHaveReceivedMailTo: the expected recipient must be an address such as "user@example.test", got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * The matchers, for `expect.extend`. `@mailhole/jest/matchers` registers them; import this object
 * to register them yourself (with `@jest/globals`' `expect`, say).
 *
 * @example expect.extend(mailholeMatchers); expect(mailhole).toHaveAccepted(1);
 */
export const mailholeMatchers = {
  /**
   * The sink (view, handle) accepted exactly `count` deliveries. Synchronous in-process; await it
   * for a remote sink.
   */
  toHaveAccepted(this: MatcherContext, received: unknown, count: number): ExpectationResult {
    const source = checkSource(received, 'toHaveAccepted');
    const expected = checkCount(count, 'toHaveAccepted');
    if (isLocal(source)) return acceptedResult(this, expected, source.accepted, source.describe());
    return Promise.all([source.accepted(), source.describe()]).then(([actual, text]) =>
      acceptedResult(this, expected, actual, text),
    );
  },

  /**
   * An accepted delivery has `address` among its envelope recipients (needs capture `envelope`
   * or `full`). Synchronous in-process; await it for a remote sink.
   */
  toHaveReceivedMailTo(this: MatcherContext, received: unknown, address: string): ExpectationResult {
    const source = checkSource(received, 'toHaveReceivedMailTo');
    const to = checkAddress(address);
    if (isLocal(source)) return mailToResult(this, to, source.deliveries(), source.describe());
    return Promise.all([source.deliveries(), source.describe()]).then(([all, text]) =>
      mailToResult(this, to, all, text),
    );
  },

  /**
   * Waits until the sink has accepted `count` deliveries (a view or handle: in the current test),
   * failing after `timeout` ms with what did arrive. Always await it.
   */
  async toReceive(this: MatcherContext, received: unknown, count: number, options?: ReceiveOptions) {
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
    const text = await source.describe();
    return {
      pass: true,
      message: () =>
        `${hint}\n\nExpected the sink not to receive ${plural(expected, 'delivery', 'deliveries')}${
          timeout === undefined ? '' : ` within ${timeout} ms`
        }, but it did.${report(text)}`,
    };
  },
};

/** The matchers' types, for `expect` (Jest 30's and `@jest/globals`') and `@types/jest` globals. */
export interface MailholeMatchers<R> {
  /**
   * The sink accepted exactly `count` deliveries (a view or `mailhole` handle: in the current test).
   * In-process it is synchronous; a remote sink needs `await`.
   *
   * @example expect(mailhole).toHaveAccepted(1);
   */
  toHaveAccepted(count: number): R;
  /**
   * An accepted delivery went to `address` (an envelope recipient). A remote sink needs `await`.
   *
   * @example expect(mailhole).toHaveReceivedMailTo('ada@example.test');
   */
  toHaveReceivedMailTo(address: string): R;
  /**
   * Waits until `count` deliveries were accepted, or fails after `timeout` ms saying what arrived.
   *
   * @example await expect(mailhole).toReceive(2, { timeout: 5000 });
   */
  toReceive(count: number, options?: ReceiveOptions): Promise<R>;
}
