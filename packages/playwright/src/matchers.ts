import {
  type CheckResult,
  checkAccepted,
  checkReceive,
  checkReceivedMailTo,
  type ExpectMatcherContext,
  type ReceiveOptions,
} from '@mailhole/core/adapter';

// Named in the TypeError a matcher throws for anything else: what a Playwright test has at hand.
const sources = 'mailbox or sink (the mailbox or sink fixture)';

/**
 * The mailhole matchers for Playwright's `expect.extend`: the same names and messages as in
 * `@mailhole/vitest` and `@mailhole/jest`. Every read is remote here, so await them.
 *
 * @example await expect(mailbox).toReceive(1, { timeout: 10_000 });
 */
export const mailholeMatchers = {
  /** The mailbox (or sink) accepted exactly `count` deliveries. */
  async toHaveAccepted(this: ExpectMatcherContext, received: unknown, count: number): Promise<CheckResult> {
    return checkAccepted(received, count, { matcher: this, sources });
  },
  /** An accepted delivery has `address` among its envelope recipients. */
  async toHaveReceivedMailTo(this: ExpectMatcherContext, received: unknown, address: string): Promise<CheckResult> {
    return checkReceivedMailTo(received, address, { matcher: this, sources });
  },
  /** Waits until the mailbox (or sink) has accepted at least `count` deliveries; fails after `timeout` ms saying what arrived. */
  toReceive(
    this: ExpectMatcherContext,
    received: unknown,
    count: number,
    options?: ReceiveOptions,
  ): Promise<CheckResult> {
    return checkReceive(received, count, options, { matcher: this, sources });
  },
};

/** The matchers' types, for an `expect` of your own: `baseExpect.extend(mailholeMatchers)`. */
export type MailholeMatchers = typeof mailholeMatchers;
