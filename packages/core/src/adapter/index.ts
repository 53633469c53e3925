/**
 * @mailhole/core/adapter: the plumbing the test-runner adapters share (Vitest, Jest, Playwright),
 * so they behave the same for the same options: one shared-sink start that publishes the same
 * `MAILHOLE_*` variables and CA file, and the checks behind the `toHaveAccepted`,
 * `toHaveReceivedMailTo` and `toReceive` matchers. A test author needs only `@mailhole/core`.
 *
 * @example
 * import { startSharedSink } from '@mailhole/core/adapter';
 * const shared = await startSharedSink({ capture: 'full' }); // MAILHOLE_* are set now
 * await shared.close();
 */

export type {
  CheckOptions,
  CheckResult,
  ExpectMatcherContext,
  LocalMailSource,
  MailSource,
  ReceiveOptions,
  RemoteMailSource,
} from '../record/assertions.js';
export { checkAccepted, checkReceive, checkReceivedMailTo } from '../record/assertions.js';
export type { SinkEnvSource, SinkEnvVariable } from './env.js';
export { publishEnv, SINK_ENV_VARIABLES, sinkEnv } from './env.js';
export type { SharedSink, SharedSinkOptions } from './shared-sink.js';
export { startSharedSink } from './shared-sink.js';
