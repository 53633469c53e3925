import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { StartOptions } from '@mailhole/core';
import { type SharedSink, SINK_ENV_VARIABLES, type SinkEnvVariable, startSharedSink } from '@mailhole/core/adapter';

/** Options of the run's shared sink: the sink's own, plus its control API's. Capture is `full` unless you say otherwise. */
export interface SharedMailholeOptions extends Omit<StartOptions, 'api' | 'clusterShared'> {
  /** Port of the control API; 0 (default) lets the OS pick. */
  apiPort?: number;
  /** When set, the control API asks every request for `Authorization: Bearer <token>`. */
  token?: string;
}

/** The `MAILHOLE_*` variables of the run's shared sink, for your app's own variable names in `webServer.env`. */
export type MailholeEnv = Readonly<Record<SinkEnvVariable, string | undefined>>;

/** Set in the Playwright process that owns the shared sink; workers inherit it and know not to start another. */
const OWNER = 'MAILHOLE_PLAYWRIGHT_OWNER';
const STATE = Symbol.for('@mailhole/playwright.shared-sink');

type Store = { [STATE]?: Promise<SharedSink> };

/**
 * Starts the run's shared sink once, in Playwright's main process, and publishes it in
 * `MAILHOLE_*`. Playwright starts `webServer` before `globalSetup`, so call it at the top of
 * playwright.config (an ES module: `await` at top level): the app started by `webServer` then
 * inherits the variables, and so do the workers. Playwright loads the config again in every
 * worker; there it starts nothing and answers the variables the main process published.
 *
 * @example const mailhole = await startSharedMailhole(); export default defineConfig({ webServer: { command: 'node app.js', env: { SMTP_URL: mailhole.MAILHOLE_URL! } } });
 */
export async function startSharedMailhole(options: SharedMailholeOptions = {}): Promise<MailholeEnv> {
  const owner = process.env[OWNER];
  const store = globalThis as Store;
  if (owner !== undefined && owner !== String(process.pid)) return currentEnv();
  if (store[STATE] === undefined) {
    const { apiPort, token, ...sinkOptions } = options;
    const api = token === undefined ? { port: apiPort ?? 0 } : { port: apiPort ?? 0, token };
    store[STATE] = startSharedSink({ capture: 'full', ...sinkOptions, api }).then((shared) => {
      process.env[OWNER] = String(process.pid);
      // Playwright ends its main process with process.exit, so a run without our globalSetup's
      // teardown closes nothing: the sockets go with the process, the CA file must be removed here.
      process.once('exit', () => {
        if (shared.caFile !== undefined) rmSync(dirname(shared.caFile), { recursive: true, force: true });
      });
      return shared;
    });
    store[STATE].catch(() => delete store[STATE]);
  }
  return (await store[STATE]).env;
}

/** Closes the shared sink this process started (a no-op in any other), and clears its variables. */
export async function stopSharedMailhole(): Promise<void> {
  const store = globalThis as Store;
  const started = store[STATE];
  if (started === undefined) return;
  delete store[STATE];
  await (await started).close();
  delete process.env[OWNER];
}

function currentEnv(): MailholeEnv {
  return Object.fromEntries(SINK_ENV_VARIABLES.map((name) => [name, process.env[name]])) as MailholeEnv;
}
