import { SHARED_STATE, type SharedState } from './shared-env.js';

/**
 * Closes the shared sink `@mailhole/jest/global-setup` started (a no-op when there is none), so
 * Jest exits at once. Call it from your own globalTeardown if you have one.
 *
 * @example // jest.config.js
 * module.exports = { globalSetup: '@mailhole/jest/global-setup', globalTeardown: '@mailhole/jest/global-teardown' };
 */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { [SHARED_STATE]?: SharedState })[SHARED_STATE]?.close();
}
