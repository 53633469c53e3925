import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The public API only: this composes a sink the way an adapter's user would.
import { type ControlApiOptions, type Sink, type StartOptions, startSink } from '../index.js';
import { publishEnv, type SinkEnvVariable, sinkEnv } from './env.js';

/** Options of `startSharedSink`: the sink's own, with the control API always on. */
export interface SharedSinkOptions extends Omit<StartOptions, 'api' | 'clusterShared'> {
  /** The control API workers reach the sink through (default: 127.0.0.1, a free port, no token). */
  api?: ControlApiOptions;
}

/** A shared sink as `startSharedSink` left it. */
export interface SharedSink {
  /** The sink, in this process. */
  readonly sink: Sink;
  /** The `MAILHOLE_*` variables it published (an `undefined` one was cleared). */
  readonly env: Readonly<Record<SinkEnvVariable, string | undefined>>;
  /** The CA certificate in PEM, written for clients in other processes (`MAILHOLE_CA_FILE`); TLS only. */
  readonly caFile: string | undefined;
  /** Puts `process.env` back as it was, closes the sink and removes the CA file. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts the one sink of a test run, with its control API, writes its CA to a file when TLS is on,
 * and publishes every `MAILHOLE_*` variable in `process.env` for the workers and the app under
 * test (both start later and inherit it). The Vitest, Jest and Playwright global setups are this
 * call and a few lines of their own.
 *
 * @example const shared = await startSharedSink({ capture: 'full' }); try { await runTests(); } finally { await shared.close(); }
 */
export async function startSharedSink(options: SharedSinkOptions = {}): Promise<SharedSink> {
  const { api: apiOption, ...sinkOptions } = options;
  if (apiOption !== undefined && (typeof apiOption !== 'object' || apiOption === null)) {
    throw new TypeError(
      `startSharedSink: option "api" must be control API options such as { port: 0, token: "…" } (workers reach the shared sink through it), got ${JSON.stringify(apiOption)}`,
    );
  }
  const api: ControlApiOptions = { ...apiOption };
  const sink = await startSink({ ...sinkOptions, api });

  let caDir: string | undefined;
  let caFile: string | undefined;
  try {
    if (sink.ca !== undefined) {
      caDir = await mkdtemp(join(tmpdir(), 'mailhole-shared-'));
      caFile = await sink.writeCa(join(caDir, 'ca.pem'));
    }
  } catch (error) {
    await sink.close();
    if (caDir !== undefined) await rm(caDir, { recursive: true, force: true });
    throw error;
  }

  // Every variable is set or cleared, so none is left over from the environment the run started in.
  const env = sinkEnv(sink, { token: api.token, caFile });
  const restoreEnv = publishEnv(env);
  let closing: Promise<void> | undefined;
  return {
    sink,
    env,
    caFile,
    close() {
      closing ??= (async () => {
        restoreEnv();
        try {
          await sink.close();
        } finally {
          if (caDir !== undefined) await rm(caDir, { recursive: true, force: true });
        }
      })();
      return closing;
    },
  };
}
