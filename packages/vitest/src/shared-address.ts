/** Where the run's shared sink listens, as the global setup provides it to the tests (`inject('mailhole')`). */
export interface SharedMailholeAddress {
  host: string;
  /** Plain SMTP port. */
  port: number;
  /** `smtp://host:port` */
  url: string;
  /** Implicit-TLS port, with `tls: 'implicit' | 'both'`. */
  tlsPort?: number;
  tlsUrl?: string;
  /** PEM of the CA that signed the sink's certificate, with TLS on. */
  ca?: string;
  /** Base URL of the sink's control API, for `connectSink`. */
  apiUrl: string;
  /** Bearer token of the control API, when the global setup was given one. */
  token?: string;
}

declare module 'vitest' {
  interface ProvidedContext {
    /** The run's shared sink, provided by `globalSetup: ['@mailhole/vitest/global-setup']`. */
    mailhole: SharedMailholeAddress;
  }
}
