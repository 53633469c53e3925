// The @mailhole/core under test: the workspace build, or the one BENCH_MAILHOLE_CORE names (a package
// folder with dist/ and node_modules/). BENCH_MAILHOLE_BASELINE names an older build to set beside it
// in the same process (the per-test and start-close scenarios interleave the two).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const load = (folder) => import(pathToFileURL(join(folder, 'dist', 'esm', 'index.js')).href);
export const core = await (process.env.BENCH_MAILHOLE_CORE
  ? load(process.env.BENCH_MAILHOLE_CORE)
  : import('@mailhole/core'));
export const baseline = process.env.BENCH_MAILHOLE_BASELINE
  ? await load(process.env.BENCH_MAILHOLE_BASELINE)
  : undefined;
