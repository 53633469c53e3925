import type { SinkInfo } from '@mailhole/core';

/** Where the run's shared sink listens, as the global setup provides it to the tests (`inject('mailhole')`). */
export interface SharedMailholeAddress
  extends Pick<SinkInfo, 'host' | 'port' | 'url' | 'tlsPort' | 'tlsUrl' | 'ca' | 'apiUrl'> {
  /** Bearer token of the control API, when the global setup was given one. */
  token?: string;
}

declare module 'vitest' {
  interface ProvidedContext {
    /** The run's shared sink, provided by `globalSetup: ['@mailhole/vitest/global-setup']`. */
    mailhole: SharedMailholeAddress;
  }
}
