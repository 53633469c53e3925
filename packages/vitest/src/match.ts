import {
  type CheckResult,
  checkAccepted,
  checkReceive,
  checkReceivedMailTo,
  type ExpectMatcherContext,
  type ReceiveOptions,
} from '@mailhole/core/adapter';

export type { LocalMailSource, MailSource, ReceiveOptions, RemoteMailSource } from '@mailhole/core/adapter';

// Named in the TypeError a matcher throws for anything else: what a Vitest test has at hand.
const sources = 'sink, view or remote sink (the mailhole or sharedMailhole fixture)';

/**
 * The matchers, for `expect.extend`. Importing `@mailhole/vitest` (or `@mailhole/vitest/matchers`)
 * registers them; this object is for registering them with another `expect` yourself.
 *
 * @example expect.extend(mailholeMatchers); expect(mailhole).toHaveAccepted(1);
 */
export const mailholeMatchers = {
  /** The sink or view accepted exactly `count` deliveries. Synchronous in-process; await it for a remote sink. */
  toHaveAccepted(this: ExpectMatcherContext, received: unknown, count: number): CheckResult | Promise<CheckResult> {
    return checkAccepted(received, count, { matcher: this, sources });
  },

  /**
   * An accepted delivery has `address` among its envelope recipients (needs capture `envelope` or
   * `full`). Synchronous in-process; await it for a remote sink.
   */
  toHaveReceivedMailTo(
    this: ExpectMatcherContext,
    received: unknown,
    address: string,
  ): CheckResult | Promise<CheckResult> {
    return checkReceivedMailTo(received, address, { matcher: this, sources });
  },

  /**
   * Waits until the sink or view has accepted at least `count` deliveries, failing after `timeout`
   * ms with what did arrive. Always awaited.
   */
  toReceive(
    this: ExpectMatcherContext,
    received: unknown,
    count: number,
    options?: ReceiveOptions,
  ): Promise<CheckResult> {
    return checkReceive(received, count, options, { matcher: this, sources });
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
