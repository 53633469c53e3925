/**
 * Vitest globalSetup entry: one sink for the whole run, started in Vitest's main process with its
 * control API, stopped at teardown. Tests reach it through the `sharedMailhole` fixture (or
 * `inject('mailhole')`); code started outside Vitest's workers finds it in `MAILHOLE_HOST`,
 * `MAILHOLE_PORT`, `MAILHOLE_URL` and `MAILHOLE_API_URL` (plus `MAILHOLE_API_TOKEN`,
 * `MAILHOLE_TLS_PORT`, `MAILHOLE_TLS_URL` and `MAILHOLE_CA_FILE` when they apply), as with the
 * Jest and Playwright adapters.
 *
 * @example export default defineConfig({ test: { globalSetup: ['@mailhole/vitest/global-setup'] } });
 */
import type { StartOptions } from '@mailhole/core';
import { startSharedSink } from '@mailhole/core/adapter';
import type { ProvidedContext } from 'vitest';
import type { SharedMailholeAddress } from './shared-address.js';

/** Options of the shared sink: the sink's own, plus the control API's. */
export interface SharedMailholeOptions extends Omit<StartOptions, 'api' | 'clusterShared'> {
  /** Port of the control API; 0 (default) lets the OS pick. */
  apiPort?: number;
  /** When set, the control API asks every request for `Authorization: Bearer <token>`. */
  token?: string;
}

/** The part of Vitest's TestProject a global setup uses (the same in Vitest 4 and 5). */
export interface GlobalSetupProject {
  provide<K extends keyof ProvidedContext & string>(key: K, value: ProvidedContext[K]): void;
}

/**
 * A global setup with your own sink options, for a setup file of your own:
 * `export default createGlobalSetup({ tls: 'starttls', port: 2525 });`
 *
 * @example export default createGlobalSetup({ capture: 'full' });
 */
export function createGlobalSetup(
  options: SharedMailholeOptions = {},
): (project: GlobalSetupProject) => Promise<() => Promise<void>> {
  return async (project) => {
    const { apiPort, token, ...sinkOptions } = options;
    const api = token === undefined ? { port: apiPort ?? 0 } : { port: apiPort ?? 0, token };
    const shared = await startSharedSink({ ...sinkOptions, api });
    const sink = shared.sink;
    const apiUrl = sink.apiUrl as string;
    const address: SharedMailholeAddress = { host: sink.host, port: sink.port, url: sink.url, apiUrl };
    if (sink.tlsPort !== undefined) address.tlsPort = sink.tlsPort;
    if (sink.tlsUrl !== undefined) address.tlsUrl = sink.tlsUrl;
    if (sink.ca !== undefined) address.ca = sink.ca;
    if (token !== undefined) address.token = token;
    project.provide('mailhole', address);
    // startSharedSink published MAILHOLE_* for an app under test started by another global setup.
    return () => shared.close();
  };
}

/** The global setup with default options: a plain-SMTP sink on a free port. */
export default createGlobalSetup();

export type { SharedMailholeAddress };
