import type { StartOptions } from '@mailhole/core';

/** Sink options for the fixtures: everything `startSink` takes (TLS mode, capture level, limits, behaviour). */
export type MailholeOptions = Omit<StartOptions, 'clusterShared'>;

/** Sink options a Vitest config can provide to every `mailhole` fixture: only values that survive the trip to workers. */
export type ProvidedMailholeOptions = Omit<MailholeOptions, 'policy' | 'auth' | 'api'>;

declare module 'vitest' {
  interface ProvidedContext {
    /**
     * Sink options for every `mailhole` fixture of the project, set in the Vitest config:
     * `test: { provide: { mailholeOptions: { capture: 'full' } } }`.
     */
    mailholeOptions: ProvidedMailholeOptions;
  }
}
