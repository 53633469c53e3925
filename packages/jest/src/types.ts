import type { MailholeHandle } from './handle.js';
import type { MailholeMatchers } from './match.js';

// Declaration merging needs the exact type parameters of each library's own `Matchers`.
declare module 'expect' {
  interface Matchers<R extends void | Promise<void>, T = unknown> extends MailholeMatchers<R> {}
}

declare global {
  // @types/jest declares its matchers in this global namespace, with exactly these type parameters.
  namespace jest {
    // biome-ignore lint/complexity/noBannedTypes: must repeat @types/jest's own default to merge with it.
    interface Matchers<R, T = {}> extends MailholeMatchers<R> {}
  }
  /** The sink of the current test file, under `testEnvironment: '@mailhole/jest/environment'`. */
  var mailhole: MailholeHandle;
}
