/** The variables a shared sink is published in, for test workers and the app under test. */
export const SINK_ENV_VARIABLES = [
  'MAILHOLE_HOST',
  'MAILHOLE_PORT',
  'MAILHOLE_URL',
  'MAILHOLE_API_URL',
  'MAILHOLE_API_TOKEN',
  'MAILHOLE_TLS_PORT',
  'MAILHOLE_TLS_URL',
  'MAILHOLE_CA_FILE',
] as const;

/** One of the `MAILHOLE_*` variables a shared sink is published in. */
export type SinkEnvVariable = (typeof SINK_ENV_VARIABLES)[number];

/** Where a started sink listens, as `sinkEnv` reads it (a `Sink` or `RemoteSink` fits). */
export interface SinkEnvSource {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly tlsPort?: number | undefined;
  readonly tlsUrl?: string | undefined;
  readonly apiUrl?: string | undefined;
}

/**
 * The `MAILHOLE_*` variables for a started sink. Every variable is present; one with nothing to
 * say is `undefined`, so `publishEnv` clears it instead of leaving a value from another sink.
 *
 * @example const restore = publishEnv(sinkEnv(sink, { token }));
 */
export function sinkEnv(
  sink: SinkEnvSource,
  extras: { token?: string | undefined; caFile?: string | undefined } = {},
): Record<SinkEnvVariable, string | undefined> {
  return {
    MAILHOLE_HOST: sink.host,
    MAILHOLE_PORT: String(sink.port),
    MAILHOLE_URL: sink.url,
    MAILHOLE_API_URL: sink.apiUrl,
    MAILHOLE_API_TOKEN: extras.token,
    MAILHOLE_TLS_PORT: sink.tlsPort === undefined ? undefined : String(sink.tlsPort),
    MAILHOLE_TLS_URL: sink.tlsUrl,
    MAILHOLE_CA_FILE: extras.caFile,
  };
}

/**
 * Sets the variables in `process.env` (an `undefined` one is deleted) and returns a function that
 * puts back what was there before. Child processes started afterwards inherit them.
 *
 * @example const restore = publishEnv(sinkEnv(sink)); try { await runApp(); } finally { restore(); }
 */
export function publishEnv(variables: Readonly<Record<string, string | undefined>>): () => void {
  const previous = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(variables)) {
    previous.set(name, process.env[name]);
    setVariable(name, value);
  }
  return () => {
    for (const [name, value] of previous) setVariable(name, value);
  };
}

function setVariable(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
