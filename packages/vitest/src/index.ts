/**
 * @mailhole/vitest: a started SMTP sink as a Vitest fixture.
 *
 * @example
 * import { test, expect } from '@mailhole/vitest';
 * test('sends a welcome mail', async ({ mailhole }) => {
 *   await signUp({ smtpPort: mailhole.port });
 *   expect(mailhole).toHaveAccepted(1);
 * });
 */
import { test as base, type TestAPI } from 'vitest';
import { type MailholeTestFixtures, withMailhole } from './fixtures.js';
import './matchers.js';
import { type SharedMailholeFixtures, withSharedMailhole } from './shared.js';

/**
 * Vitest's `test` with a `mailhole` fixture: every test that names it gets its own started sink on
 * a free port, closed after the test. Tests that don't name it start nothing. `sharedMailhole` is
 * this test's window on the run's shared sink (with `@mailhole/vitest/global-setup`).
 *
 * @example test('counts', async ({ mailhole }) => { await send(mailhole.port); expect(mailhole.accepted).toBe(1); });
 */
export const test: TestAPI<MailholeTestFixtures & SharedMailholeFixtures> = withSharedMailhole(withMailhole(base));

/** The same as `test`. */
export const it = test;

export type { RemoteSink, RemoteSinkView, Sink, SinkView, StartOptions } from '@mailhole/core';
export { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject } from 'vitest';
export type {
  MailholeFixtureDefinitions,
  MailholeOptions,
  MailholeScope,
  MailholeScopedFixtures,
  MailholeSetup,
} from './fixtures.js';
export { mailholeFixtures, withMailhole } from './fixtures.js';
export type { LocalMailSource, MailholeMatchers, MailSource, ReceiveOptions, RemoteMailSource } from './match.js';
export { mailholeMatchers } from './matchers.js';
export type { ProvidedMailholeOptions } from './provided.js';
export type { SharedMailholeFixtureDefinitions } from './shared.js';
export { sharedMailholeFixtures, withSharedMailhole } from './shared.js';
export type { SharedMailholeAddress } from './shared-address.js';
export type { MailholeTestFixtures, SharedMailholeFixtures };
