import { type Sink, type SinkView, startSink } from '@mailhole/core';
import { inject, type TestAPI, type TestContext } from 'vitest';
import type { MailholeOptions } from './provided.js';
import { appendReport } from './report.js';

export type { MailholeOptions } from './provided.js';

/** How long a fixture sink lives: one per test (default), per test file, or per Vitest worker. */
export type MailholeScope = 'test' | 'file' | 'worker';

/** How `withMailhole` and `mailholeFixtures` set the fixtures up. */
export interface MailholeSetup<S extends MailholeScope = MailholeScope> {
  /** One sink per test (default), per file, or per worker; with `file` and `worker` each test still counts from 0. */
  scope?: S;
  /** Options every sink of this `test` starts with; `mailholeOptions` (config or `test.override`) adds to them. */
  sink?: MailholeOptions;
}

/** Fixtures of a `test` whose sinks live per test: `mailhole` is the test's own `Sink`. */
export interface MailholeTestFixtures {
  /** This test's own started sink, closed after the test. */
  mailhole: Sink;
  /** The same sink (with `scope: 'file' | 'worker'` it is the shared one behind the per-test `mailhole`). */
  mailholeSink: Sink;
  /** Extra sink options for this file or suite: `test.override({ mailholeOptions: { tls: 'starttls' } })`. */
  mailholeOptions: MailholeOptions;
}

/** Fixtures of a `test` whose sink lives per file or worker: `mailhole` is the test's view of it. */
export interface MailholeScopedFixtures {
  /** This test's window on the shared sink: `accepted`, `deliveries()` and `waitFor()` count from the test's start. */
  mailhole: SinkView;
  /** The sink shared by the file (or worker): `clientTls()`, `stats()`, `on()`, `view({ to })`. */
  mailholeSink: Sink;
  /** Extra sink options for this file: `test.override({ mailholeOptions: { capture: 'full' } })` at its top level. */
  mailholeOptions: MailholeOptions;
}

type FixtureUse<T> = (value: T) => Promise<void>;

/** The fixture definitions `mailholeFixtures` returns, ready for `test.extend`. */
export interface MailholeFixtureDefinitions<S extends MailholeScope = 'test'> {
  mailholeOptions: [MailholeOptions, { injected: true; scope: S }];
  mailholeSink: [(context: { mailholeOptions: MailholeOptions }, use: FixtureUse<Sink>) => Promise<void>, { scope: S }];
  mailhole: (
    context: { mailholeSink: Sink; onTestFailed: TestContext['onTestFailed'] },
    use: FixtureUse<S extends 'test' ? Sink : SinkView>,
  ) => Promise<void>;
}

const SCOPES: readonly string[] = ['test', 'file', 'worker'];

/**
 * The mailhole fixtures as plain definitions, to add to your own `test` next to other libraries'
 * fixtures. Vitest reads each fixture's dependencies from its first parameter, so they keep a
 * destructured `{ … }` there.
 *
 * @example export const test = base.extend<MailholeTestFixtures>(mailholeFixtures());
 */
export function mailholeFixtures(setup?: MailholeSetup<'test'>): MailholeFixtureDefinitions<'test'>;
export function mailholeFixtures<S extends 'file' | 'worker'>(
  setup: MailholeSetup<S> & { scope: S },
): MailholeFixtureDefinitions<S>;
export function mailholeFixtures(setup: MailholeSetup = {}): MailholeFixtureDefinitions<MailholeScope> {
  const scope = setup.scope ?? 'test';
  if (!SCOPES.includes(scope)) {
    throw new TypeError(
      `@mailhole/vitest: option "scope" must be "test", "file" or "worker", got ${JSON.stringify(scope)}`,
    );
  }
  const base = setup.sink ?? {};
  return {
    mailholeOptions: [{}, { injected: true, scope }],
    mailholeSink: [
      async ({ mailholeOptions }, use) => {
        // The config's options are the fixture's default value (injected); merged here as well so a
        // test.override adds to them instead of dropping them.
        const sink = await startSink({ ...base, ...inject('mailholeOptions'), ...mailholeOptions });
        try {
          await use(sink);
        } finally {
          await sink.close();
        }
      },
      { scope },
    ],
    mailhole: async ({ mailholeSink, onTestFailed }, use) => {
      // A shared sink counts from this test's start; a sink of its own already does.
      const handle = scope === 'test' ? mailholeSink : mailholeSink.view();
      // Vitest 4 calls this after the test's fixtures are torn down: a per-test sink is closed by
      // then, so the report can also say how its sessions ended (a 530 the app never showed, say).
      onTestFailed(({ task }) => appendReport(task, handle.describe()));
      await use(handle);
    },
  };
}

/**
 * Adds the mailhole fixtures to a `test` (Vitest's or one already extended by other libraries).
 *
 * @example const test = withMailhole(base, { scope: 'file', sink: { tls: 'starttls' } });
 */
export function withMailhole<C extends object>(
  base: TestAPI<C>,
  setup?: MailholeSetup<'test'>,
): TestAPI<C & MailholeTestFixtures>;
export function withMailhole<C extends object>(
  base: TestAPI<C>,
  setup: MailholeSetup<'file' | 'worker'> & { scope: 'file' | 'worker' },
): TestAPI<C & MailholeScopedFixtures>;
export function withMailhole<C extends object>(base: TestAPI<C>, setup: MailholeSetup = {}): TestAPI<C> {
  // The definitions are checked where they are built; extend's overloads cannot see through the scope union.
  const fixtures = mailholeFixtures(setup as MailholeSetup<'file'> & { scope: 'file' }) as object;
  return (base as unknown as { extend(fixtures: object): TestAPI<C> }).extend(fixtures);
}
