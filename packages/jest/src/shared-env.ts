/** What globalSetup leaves for globalTeardown; both run in Jest's parent process. */
export interface SharedState {
  close(): Promise<void>;
}

export const SHARED_STATE = Symbol.for('@mailhole/jest.shared-sink');

/** The `testEnvironmentOptions` key the shared sink's options are read from. */
export const SHARED_OPTIONS_KEY = 'mailholeShared';
