import { describe, expect, it } from 'vitest';
import { DEFAULT_WAIT_MS, Waiters, WaitTimeoutError, waitTimedOut, waitTimeout } from '../src/record/wait.js';

describe('the one waiter', () => {
  it('resolves once its condition holds after a change is announced', async () => {
    const waiters = new Waiters();
    let count = 0;
    const done = waiters.wait(
      () => (count >= 2 ? count : undefined),
      10_000,
      undefined,
      () => new Error('late'),
    );
    count = 1;
    waiters.check();
    expect(waiters.size).toBe(1);
    count = 2;
    waiters.check();
    await expect(done).resolves.toBe(2);
    expect(waiters.size).toBe(0);
  });

  it('times out with a WaitTimeoutError that says what arrived', async () => {
    const waiters = new Waiters();
    const error = await waiters
      .wait(
        () => undefined,
        5,
        undefined,
        () => waitTimedOut(5, 3, 1, undefined, 'The sink saw 1 connection(s).'),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).message).toBe(
      'waitFor timed out after 5 ms with 1 of 3 deliveries.\nThe sink saw 1 connection(s).',
    );
    expect(error).toMatchObject({ expected: 3, received: 1 });
    expect(waiters.size).toBe(0);
  });

  it('names the criterion deliveries had to match', () => {
    expect(waitTimedOut(100, 1, 0, 'predicate', 'report').message).toBe(
      'waitFor timed out after 100 ms with 0 of 1 matching deliveries (predicate).\nreport',
    );
  });

  it('ends with the signal reason on abort, and with the given error when the owner fails them all', async () => {
    const waiters = new Waiters();
    const controller = new AbortController();
    const aborted = waiters.wait(
      () => undefined,
      10_000,
      controller.signal,
      () => new Error('late'),
    );
    const failed = waiters.wait(
      () => undefined,
      10_000,
      undefined,
      () => new Error('late'),
    );
    controller.abort(new Error('client left'));
    await expect(aborted).rejects.toThrow('client left');
    waiters.failAll(new Error('closed'));
    await expect(failed).rejects.toThrow('closed');
    expect(waiters.size).toBe(0);
  });

  it('has one default timeout and refuses a bad one, naming the option', () => {
    expect(DEFAULT_WAIT_MS).toBe(3000);
    expect(waitTimeout(undefined)).toBe(DEFAULT_WAIT_MS);
    expect(waitTimeout(0)).toBe(0);
    expect(() => waitTimeout(-1)).toThrow('waitFor: timeout must be a number of milliseconds >= 0, got -1');
    expect(() => waitTimeout(Number.NaN)).toThrow(RangeError);
  });
});
