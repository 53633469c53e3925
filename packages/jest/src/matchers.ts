/**
 * Registers the mailhole matchers with Jest's `expect`. Meant for the Jest config:
 * `setupFilesAfterEnv: ['@mailhole/jest/matchers']`.
 *
 * @example expect(mailhole).toHaveAccepted(1); await expect(mailhole).toReceive(2, { timeout: 5000 });
 */
import { mailholeMatchers } from './match.js';
import './types.js';

const jestExpect = (globalThis as { expect?: { extend?: (matchers: object) => void } }).expect;
if (typeof jestExpect?.extend !== 'function') {
  throw new Error(
    '@mailhole/jest/matchers: Jest\'s global "expect" is missing. List it in "setupFilesAfterEnv" (not "setupFiles"), ' +
      'keep "injectGlobals" on, or call expect.extend(mailholeMatchers) yourself with the expect you import.',
  );
}
jestExpect.extend(mailholeMatchers);

export type { MailholeMatchers, ReceiveOptions } from './match.js';
export { mailholeMatchers };
