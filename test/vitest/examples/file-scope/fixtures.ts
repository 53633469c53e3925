import { withMailhole } from '@mailhole/vitest';
import { test as base } from 'vitest';

// One sink per test file; each test's `mailhole` is a view that counts from the test's start.
export const test = withMailhole(base, { scope: 'file' });
