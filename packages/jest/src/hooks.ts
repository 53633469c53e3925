import { type Sink, type StartOptions, startSink } from '@mailhole/core';
import { type Current, createHandle, type MailholeHandle, sameRealm } from './handle.js';
import { lifecycle } from './lifecycle.js';
import { configError } from './options.js';

/** Options of `useMailhole`: the sink's own, plus how long one sink lives. */
export interface UseMailholeOptions extends StartOptions {
  /**
   * `file` (default): one sink for the file (beforeAll/afterAll), counts start at 0 in every test.
   * `test`: a new sink, on a new port, for every test (beforeEach/afterEach).
   */
  scope?: 'file' | 'test';
}

/**
 * Registers hooks that start a sink and close it after, and returns a handle on it, for suites
 * that keep another test environment (jsdom, a custom one). Call it at the top of a file or a
 * `describe`; use the handle inside tests and hooks.
 *
 * @example const mailhole = useMailhole(); test('sends', async () => { await send(mailhole.port); expect(mailhole.accepted).toBe(1); });
 */
export function useMailhole(options: UseMailholeOptions = {}): MailholeHandle {
  const { scope = 'file', ...sinkOptions } = options;
  if (scope !== 'file' && scope !== 'test') {
    throw new TypeError(`useMailhole: option "scope" must be "file" or "test", got ${JSON.stringify(scope)}`);
  }
  const hooks = lifecycle('useMailhole');
  let current: Current | undefined;

  const start = async (): Promise<void> => {
    let sink: Sink;
    try {
      sink = await startSink(sinkOptions);
    } catch (error) {
      throw configError(error, 'useMailhole', 'its options');
    }
    current = { sink, view: sink.view() };
  };
  const stop = async (): Promise<void> => {
    const sink = current?.sink;
    current = undefined;
    await sink?.close();
  };

  if (scope === 'file') {
    hooks.beforeAll(start);
    hooks.beforeEach(() => current?.view.reset());
    hooks.afterAll(stop);
  } else {
    hooks.beforeEach(start);
    hooks.afterEach(stop);
  }

  return createHandle(() => {
    if (current === undefined) {
      throw new Error(
        `useMailhole: no sink is running here. With scope "${scope}" it runs from ${
          scope === 'file' ? 'beforeAll to afterAll' : 'beforeEach to afterEach'
        } of the file or describe block that called useMailhole(); read the handle inside a test or a hook.`,
      );
    }
    return current;
  }, sameRealm);
}
