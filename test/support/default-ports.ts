import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// `mailhole serve`'s default ports, 2525 and 8025, are the machine's, not a test's: the few tests
// that must use them (the newcomer walk-through, the "port taken" messages) take this lock first, so
// test files running in parallel never meet on them. A lock left by a killed run is taken over.

const LOCK = join(tmpdir(), 'mailhole-default-ports.lock');

function holder(): number | undefined {
  try {
    return Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Waits until this process holds the default-ports lock; resolves with its release.
 *
 * @example const release = await lockDefaultPorts(); try { … } finally { release(); }
 */
export async function lockDefaultPorts(timeout = 600_000): Promise<() => void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = holder();
    if (pid !== undefined && !Number.isNaN(pid) && !alive(pid)) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `another test (pid ${pid}) has held ports 2525/8025 for ${timeout} ms (lock ${LOCK}); if no test runs, remove the lock`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
