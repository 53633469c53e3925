/**
 * Registers the mailhole matchers with Vitest's `expect`. Importing `@mailhole/vitest` does this
 * already; list this entry in `setupFiles` when tests use only your own `test` or a shared sink:
 * `setupFiles: ['@mailhole/vitest/matchers']`.
 *
 * @example expect(mailhole).toHaveAccepted(1); await expect(mailhole).toReceive(2, { timeout: 5000 });
 */
import { expect } from 'vitest';
import { mailholeMatchers } from './match.js';

expect.extend(mailholeMatchers);

export type { LocalMailSource, MailholeMatchers, MailSource, ReceiveOptions, RemoteMailSource } from './match.js';
export { mailholeMatchers };
