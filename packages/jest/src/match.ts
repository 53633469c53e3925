import { checkAccepted, checkReceive, checkReceivedMailTo, type ReceiveOptions } from '@mailhole/core/adapter';
import type { ExpectationResult, MatcherContext, SyncExpectationResult } from 'expect';

export type { LocalMailSource, MailSource, ReceiveOptions, RemoteMailSource } from '@mailhole/core/adapter';

// Named in the TypeError a matcher throws for anything else: what a Jest test has at hand.
const sources = 'sink, view, handle or remote sink (with accepted, deliveries, waitFor and describe)';

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
    return checkAccepted(received, count, { matcher: this, sources });
  },

  /**
   * An accepted delivery has `address` among its envelope recipients (needs capture `envelope`
   * or `full`). Synchronous in-process; await it for a remote sink.
   */
  toHaveReceivedMailTo(this: MatcherContext, received: unknown, address: string): ExpectationResult {
    return checkReceivedMailTo(received, address, { matcher: this, sources });
  },

  /**
   * Waits until the sink has accepted `count` deliveries (a view or handle: in the current test),
   * failing after `timeout` ms with what did arrive. Always await it.
   */
  toReceive(
    this: MatcherContext,
    received: unknown,
    count: number,
    options?: ReceiveOptions,
  ): Promise<SyncExpectationResult> {
    return checkReceive(received, count, options, { matcher: this, sources });
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
