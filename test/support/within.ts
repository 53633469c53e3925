/**
 * Fails with `what` if `promise` has not settled within `ms`: a hang becomes a clear failure
 * instead of a test timeout, without asserting how fast anything is.
 *
 * @example await within(sink.close(), 5000, 'sink.close()');
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves on the next `event` of `emitter` (a sink or any emitter with on/off), failing after `ms`. */
export function nextEvent<T = unknown>(
  emitter: {
    on(event: string, listener: (value: T) => void): unknown;
    off(event: string, listener: (value: T) => void): unknown;
  },
  event: string,
  ms = 5000,
): Promise<T> {
  let listener: ((value: T) => void) | undefined;
  const next = new Promise<T>((resolve) => {
    listener = (value: T) => resolve(value);
    emitter.on(event, listener);
  });
  return within(next, ms, `event "${event}"`).finally(() => emitter.off(event, listener as (value: T) => void));
}
