// Runs nodemailer/smtp-server's own test suite (vendored in test/smtp-server-suite, MIT-0) against
// @mailhole/core/smtp-server, and fails when fewer tests pass than recorded below: a regression of
// the compat entry shows here. `--original` runs the same files against the smtp-server package
// instead, for comparison (time, pass count). Run `pnpm build` first.
//
//   node scripts/smtp-server-suite.mjs [--original]
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Tests that pass against the compat entry today; every other one is explained in the suite's README. */
const EXPECTED_PASSING = 36;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const suite = join(root, 'test', 'smtp-server-suite');
const original = process.argv.includes('--original');
const started = Date.now();
const result = spawnSync(
  join(root, 'node_modules', '.bin', 'mocha'),
  ['--exit', '--reporter', 'dot', '--timeout', '10000', '*-test.cjs'],
  {
    cwd: suite,
    encoding: 'utf8',
    // A hung run fails with a message instead of holding CI.
    timeout: 240_000,
    env: { ...process.env, SMTP_SERVER_TARGET: original ? 'original' : 'mailhole', FORCE_COLOR: '0' },
  },
);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
const passing = Number(/(\d+) passing/.exec(output)?.[1] ?? 0);
const failing = Number(/(\d+) failing/.exec(output)?.[1] ?? 0);
const target = original ? 'smtp-server (original)' : '@mailhole/core/smtp-server';
console.log(`smtp-server's suite against ${target}: ${passing} passing, ${failing} failing, ${seconds} s`);
if (result.error !== undefined) {
  console.error(`smtp-server-suite: mocha did not finish: ${result.error.message}`);
  process.exit(1);
}
if (!original && passing < EXPECTED_PASSING) {
  console.error(output);
  console.error(
    `smtp-server-suite: ${passing} tests passed, ${EXPECTED_PASSING} are expected: a change broke smtp-server compatibility (output above)`,
  );
  process.exit(1);
}
if (!original && passing > EXPECTED_PASSING) {
  console.log(
    `More than the ${EXPECTED_PASSING} expected: raise EXPECTED_PASSING and update test/smtp-server-suite/README.md.`,
  );
}
