/** The variables the shared sink is published in, for workers and the app under test. */
export const SHARED_VARIABLES = [
  'MAILHOLE_HOST',
  'MAILHOLE_PORT',
  'MAILHOLE_URL',
  'MAILHOLE_API_URL',
  'MAILHOLE_API_TOKEN',
  'MAILHOLE_TLS_PORT',
  'MAILHOLE_TLS_URL',
  'MAILHOLE_CA_FILE',
] as const;

export type SharedVariable = (typeof SHARED_VARIABLES)[number];

/** What globalSetup leaves for globalTeardown; both run in Jest's parent process. */
export interface SharedState {
  close(): Promise<void>;
}

export const SHARED_STATE = Symbol.for('@mailhole/jest.shared-sink');

/** The `testEnvironmentOptions` key the shared sink's options are read from. */
export const SHARED_OPTIONS_KEY = 'mailholeShared';
