import { withMailhole } from '@mailhole/vitest';
import { test as base } from 'vitest';

// One sink per Vitest worker, started by the first test that names `mailhole`, closed when the worker ends.
export const test = withMailhole(base, { scope: 'worker', sink: { hostname: 'mx.worker.test' } });

const worker = globalThis as { sentByThisWorker?: { count: number } };
worker.sentByThisWorker ??= { count: 0 };

/** What the files of this worker have sent so far (the worker keeps modules and globals between files). */
export const sentByThisWorker = worker.sentByThisWorker;
