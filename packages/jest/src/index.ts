/**
 * @mailhole/jest: what a test file imports. The other entries are named in the Jest config:
 * `@mailhole/jest/environment`, `@mailhole/jest/global-setup`, `@mailhole/jest/global-teardown`
 * and `@mailhole/jest/matchers`.
 *
 * @example
 * import { useMailhole } from '@mailhole/jest';
 * const mailhole = useMailhole();
 * test('sends one mail', async () => { await send(mailhole.port); expect(mailhole.accepted).toBe(1); });
 */
import './types.js';

export type { MailholeHandle } from './handle.js';
export type { UseMailholeOptions } from './hooks.js';
export { useMailhole } from './hooks.js';
export type { LocalMailSource, MailholeMatchers, MailSource, ReceiveOptions, RemoteMailSource } from './match.js';
export { mailholeMatchers } from './match.js';
export type { SharedMailholeHandle } from './shared.js';
export { sharedMailhole, sharedSink, useSharedMailhole } from './shared.js';
