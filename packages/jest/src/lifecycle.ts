type Hook = (fn: () => unknown, timeout?: number) => void;

/** Jest's hook functions, as a test file sees them. */
export interface Lifecycle {
  beforeAll: Hook;
  beforeEach: Hook;
  afterEach: Hook;
  afterAll: Hook;
}

/**
 * The hook globals Jest injects into a test file. Read at call time, not import time, so the
 * module can be imported anywhere and fails only where hooks are actually needed.
 */
export function lifecycle(caller: string): Lifecycle {
  const g = globalThis as unknown as Partial<Lifecycle>;
  const { beforeAll, beforeEach, afterEach, afterAll } = g;
  if (
    typeof beforeAll !== 'function' ||
    typeof beforeEach !== 'function' ||
    typeof afterEach !== 'function' ||
    typeof afterAll !== 'function'
  ) {
    throw new Error(
      `${caller}: Jest's beforeAll/beforeEach/afterEach/afterAll globals are missing. Call it at the top of a test file ` +
        'or a describe block, and keep "injectGlobals" on in the Jest config.',
    );
  }
  return { beforeAll, beforeEach, afterEach, afterAll };
}
