/**
 * Playwright globalSetup entry: starts the run's shared sink (capture `full`) and publishes it in
 * `MAILHOLE_*` for the workers; its teardown closes it. Playwright starts `webServer` BEFORE
 * globalSetup, so an app that must know the SMTP address at start-up is started by a globalSetup
 * listed after this one (or use `startSharedMailhole()` at the top of the config instead).
 *
 * @example export default defineConfig({ globalSetup: ['@mailhole/playwright/global-setup', './start-app.ts'] });
 */
import { type SharedMailholeOptions, startSharedMailhole, stopSharedMailhole } from './shared.js';

/**
 * A global setup with your own sink options, for a setup file of your own.
 *
 * @example export default createGlobalSetup({ tls: 'starttls' });
 */
export function createGlobalSetup(options: SharedMailholeOptions = {}): () => Promise<() => Promise<void>> {
  return async () => {
    await startSharedMailhole(options);
    return stopSharedMailhole;
  };
}

/** The global setup with default options: a plain-SMTP sink on a free port, keeping whole messages. */
export default createGlobalSetup();

export type { SharedMailholeOptions };
