import { clearTimeout, setTimeout } from 'node:timers';

/**
 * Waiting with a timeout, once for every sink: the in-process recorder, the worker pool of
 * `mailhole serve --workers` and the remote client all wait through here, so a wait has one
 * default, fails with one error type and says so in one message.
 */

/** Milliseconds a wait lasts when the caller gives no `timeout` (`waitFor`, `/api/wait`, `mailhole wait`). */
export const DEFAULT_WAIT_MS = 3000;

/** Thrown when `waitFor` times out; `message` says what did arrive. */
export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
  constructor(
    message: string,
    readonly expected: number,
    readonly received: number,
  ) {
    super(message);
  }
}

/**
 * The one timeout message: `waitFor timed out after 2000 ms with 1 of 3 deliveries.` then the report
 * of what the sink saw. `criterion` names what the deliveries had to match (a filter, `predicate`),
 * when they had to match something.
 */
export function waitTimedOut(
  timeout: number,
  expected: number,
  received: number,
  criterion: string | undefined,
  report: string,
): WaitTimeoutError {
  const what =
    criterion === undefined
      ? `${received} of ${expected} deliveries`
      : `${received} of ${expected} matching deliveries (${criterion})`;
  return new WaitTimeoutError(`waitFor timed out after ${timeout} ms with ${what}.\n${report}`, expected, received);
}

/** The error pending waits get when their sink closes. */
export function sinkClosedError(): Error {
  return new Error('waitFor: the sink was closed before the wait was satisfied');
}

/** The wait's timeout, default applied; throws a `RangeError` naming the option when it is not one. */
export function waitTimeout(timeout: number | undefined): number {
  const ms = timeout ?? DEFAULT_WAIT_MS;
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`waitFor: timeout must be a number of milliseconds >= 0, got ${ms}`);
  }
  return ms;
}

/** Throws a `RangeError` when a count to wait for is not a whole number >= 0. */
export function checkWaitCount(count: number): void {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`waitFor: count must be a whole number >= 0, got ${count}`);
  }
}

interface Pending {
  check(): void;
  fail(error: Error): void;
}

/**
 * Waits that end when their condition holds, re-checked whenever the owner says something changed
 * (`check()`): event-driven, no polling. Each wait ends at its timeout, when its signal aborts, or
 * when the owner fails them all (`failAll`, e.g. on close).
 */
export class Waiters {
  private readonly pending = new Set<Pending>();

  /** Waits in progress. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Resolves with what `reached` returns once it returns something other than `undefined`;
   * rejects with `timedOut()` after `timeout` ms, or with the signal's reason when it aborts.
   */
  wait<T>(
    reached: () => T | undefined,
    timeout: number,
    signal: AbortSignal | undefined,
    timedOut: () => Error,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const now = reached();
      if (now !== undefined) {
        resolve(now);
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const settle = (): void => {
        this.pending.delete(entry);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        settle();
        reject(signal?.reason);
      };
      const entry: Pending = {
        check: () => {
          const result = reached();
          if (result === undefined) return;
          settle();
          resolve(result);
        },
        fail: (error) => {
          settle();
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.add(entry);
      timer = setTimeout(() => {
        settle();
        reject(timedOut());
      }, timeout);
    });
  }

  /** Something changed: every wait whose condition now holds resolves. */
  check(): void {
    if (this.pending.size === 0) return;
    for (const entry of [...this.pending]) entry.check();
  }

  /** Rejects every pending wait with `error`. */
  failAll(error: Error): void {
    for (const entry of [...this.pending]) entry.fail(error);
  }
}
