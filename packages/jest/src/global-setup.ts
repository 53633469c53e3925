import type { ControlApiOptions, StartOptions } from '@mailhole/core';
import { startSharedSink } from '@mailhole/core/adapter';
import { configError, optionsFromConfig } from './options.js';
import { SHARED_OPTIONS_KEY, SHARED_STATE, type SharedState } from './shared-env.js';

const ENTRY = '@mailhole/jest/global-setup';

/** The parts of Jest's configs globalSetup reads (Jest passes its full GlobalConfig and ProjectConfig). */
export interface SetupConfigs {
  globalConfig?: { globalTeardown?: string | null | undefined };
  projectConfig?: { globalTeardown?: string | null | undefined; testEnvironmentOptions?: Record<string, unknown> };
}

/**
 * Starts one sink for the whole Jest run, with its control API, and publishes it to the workers
 * and the app under test in `MAILHOLE_HOST`, `MAILHOLE_PORT`, `MAILHOLE_URL`, `MAILHOLE_API_URL`
 * (plus `MAILHOLE_CA_FILE` with TLS on). Options: `testEnvironmentOptions: { mailholeShared: {…} }`.
 * Call it from your own globalSetup to start the app after the sink.
 *
 * @example // jest.config.js
 * module.exports = { globalSetup: '@mailhole/jest/global-setup', globalTeardown: '@mailhole/jest/global-teardown' };
 */
export default async function globalSetup(
  globalConfig?: SetupConfigs['globalConfig'],
  projectConfig?: SetupConfigs['projectConfig'],
): Promise<void> {
  const store = globalThis as { [SHARED_STATE]?: SharedState };
  if (store[SHARED_STATE] !== undefined) {
    // Watch mode runs globalSetup again; the last run's teardown should have closed it, but a
    // leftover sink must not leak its port.
    await store[SHARED_STATE].close();
  }
  if (projectConfig !== undefined && !projectConfig.globalTeardown && !globalConfig?.globalTeardown) {
    throw new Error(
      `${ENTRY}: the shared sink would keep Jest from exiting: add globalTeardown: '@mailhole/jest/global-teardown' ` +
        'to the Jest config (or call it from your own globalTeardown).',
    );
  }

  const { api: apiOption, ...options }: StartOptions = optionsFromConfig(
    projectConfig?.testEnvironmentOptions,
    SHARED_OPTIONS_KEY,
    ENTRY,
  );
  if (apiOption === false) {
    throw new TypeError(
      `${ENTRY}: testEnvironmentOptions.${SHARED_OPTIONS_KEY}.api cannot be false: workers reach the shared sink through its control API`,
    );
  }
  const api: ControlApiOptions = typeof apiOption === 'object' && apiOption !== null ? { ...apiOption } : {};
  // Workers start after globalSetup and inherit process.env: that is how they find the sink.
  const shared = await startSharedSink({ ...options, api }).catch((error: unknown) => {
    throw configError(error, ENTRY, `testEnvironmentOptions.${SHARED_OPTIONS_KEY}`);
  });
  store[SHARED_STATE] = {
    async close() {
      delete store[SHARED_STATE];
      await shared.close();
    },
  };
}
