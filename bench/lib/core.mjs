// The @mailhole/core under test: the workspace build, or the one BENCH_MAILHOLE_CORE names (a package
// folder with dist/ and node_modules/), so that one run can set a build against an older one.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const override = process.env.BENCH_MAILHOLE_CORE;
export const core = await import(
  override ? pathToFileURL(join(override, 'dist', 'esm', 'index.js')).href : '@mailhole/core'
);
