/**
 * @mailhole/playwright: Playwright Test fixtures for mailhole. `sink` (per worker) is the run's
 * shared sink, `mailbox` (per test) a unique address on it; the matchers are those of the other
 * adapters; `startSharedMailhole()` starts the sink from playwright.config before `webServer`.
 *
 * @example
 * import { expect, test } from '@mailhole/playwright';
 * test('signs in by mail', async ({ page, mailbox }) => {
 *   await page.getByLabel('Email').fill(mailbox.address);
 *   const message = await mailbox.waitForMessage({ subject: 'Sign in' });
 *   await page.goto(message.links()[0]);
 * });
 */
import { expect as baseExpect, test as baseTest, type Expect } from '@playwright/test';
import { type MailholeTestFixtures, type MailholeWorkerFixtures, mailholeFixtures } from './fixtures.js';
import { type MailholeMatchers, mailholeMatchers } from './matchers.js';

/** Playwright's `test` with the `sink` and `mailbox` fixtures. */
export const test = baseTest.extend<MailholeTestFixtures, MailholeWorkerFixtures>(mailholeFixtures);

/** Playwright's `expect` with `toHaveAccepted`, `toHaveReceivedMailTo` and `toReceive`. */
export const expect: Expect<MailholeMatchers> = baseExpect.extend(mailholeMatchers);

export type {
  CodeOptions,
  LinkQuery,
  Mailbox,
  MailboxMessage,
  MessageQuery,
  ReceiveOptions,
  RemoteSink,
} from '@mailhole/core';
export { type MailholeTestFixtures, type MailholeWorkerFixtures, mailholeFixtures } from './fixtures.js';
export { type MailholeMatchers, mailholeMatchers } from './matchers.js';
export { type MailholeEnv, type SharedMailholeOptions, startSharedMailhole, stopSharedMailhole } from './shared.js';
