import { connectSink, type RemoteSink, type RemoteSinkView } from '@mailhole/core';
import { inject, type TestAPI, type TestContext } from 'vitest';
import { appendReport } from './report.js';
import './shared-address.js';

/** Fixtures that reach the run's shared sink (started by `@mailhole/vitest/global-setup`). */
export interface SharedMailholeFixtures {
  /**
   * This test's window on the shared sink: `accepted()`, `deliveries()` and `waitFor()` count from
   * the test's start. Every read is async: `expect(await sharedMailhole.accepted()).toBe(1)`.
   */
  sharedMailhole: RemoteSinkView;
  /** The shared sink itself, connected once per worker: `view({ to })` for concurrent tests, `stats()`, `reset()`. */
  sharedMailholeSink: RemoteSink;
}

type FixtureUse<T> = (value: T) => Promise<void>;

/** The shared-sink fixture definitions, ready for `test.extend`. */
export interface SharedMailholeFixtureDefinitions {
  sharedMailholeSink: [(context: object, use: FixtureUse<RemoteSink>) => Promise<void>, { scope: 'worker' }];
  sharedMailhole: (
    context: { sharedMailholeSink: RemoteSink; onTestFailed: TestContext['onTestFailed'] },
    use: FixtureUse<RemoteSinkView>,
  ) => Promise<void>;
}

/**
 * The shared-sink fixtures as plain definitions, for your own `test`.
 *
 * @example export const test = base.extend<SharedMailholeFixtures>(sharedMailholeFixtures());
 */
export function sharedMailholeFixtures(): SharedMailholeFixtureDefinitions {
  return {
    sharedMailholeSink: [
      // biome-ignore lint/correctness/noEmptyPattern: Vitest reads a fixture's dependencies from its destructured first parameter, and this one has none.
      async ({}, use) => {
        const address = inject('mailhole');
        if (address === undefined) {
          throw new Error(
            'sharedMailhole needs the run\'s shared sink: add globalSetup: ["@mailhole/vitest/global-setup"] to the Vitest config (test.globalSetup)',
          );
        }
        await use(await connectSink(address.apiUrl, address.token === undefined ? {} : { token: address.token }));
      },
      { scope: 'worker' },
    ],
    sharedMailhole: async ({ sharedMailholeSink, onTestFailed }, use) => {
      const view = await sharedMailholeSink.view();
      onTestFailed(async ({ task }) => {
        // The report is a courtesy: an unreachable control API must not hide the test's own error.
        const report = await view
          .describe()
          .catch((error: Error) => `(the shared sink could not say: ${error.message})`);
        appendReport(task, report);
      });
      await use(view);
    },
  };
}

/**
 * Adds the shared-sink fixtures to a `test`.
 *
 * @example const test = withSharedMailhole(base); test('…', async ({ sharedMailhole }) => { … });
 */
export function withSharedMailhole<C extends object>(base: TestAPI<C>): TestAPI<C & SharedMailholeFixtures> {
  return (base as unknown as { extend(fixtures: object): TestAPI<C & SharedMailholeFixtures> }).extend(
    sharedMailholeFixtures(),
  );
}
