import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { example, type JestRun, leftovers, result, runJest } from './harness.js';

describe('TypeScript tests through @swc/jest', () => {
  let run: JestRun;
  beforeAll(async () => {
    run = await runJest('typescript', ['--detectOpenHandles']);
  }, 150_000);

  it('passes every test of the example and exits with code 0', () => {
    expect(run.report.numFailedTests, run.output).toBe(0);
    expect(run.report.numPassedTests).toBe(4);
    expect(run.code).toBe(0);
  });

  it('passes testEnvironmentOptions.mailhole to the sink (capture "full" keeps the subject)', () => {
    expect(result(run.report, 'keeps whole messages with capture "full" from testEnvironmentOptions').status).toBe(
      'passed',
    );
  });

  it('leaves no open handle behind (--detectOpenHandles)', () => {
    expect(leftovers(run.output)).toEqual([]);
  });
});

describe('the types of @mailhole/jest', () => {
  it('type-check the example: the mailhole global, the hook helper and the matchers on both expects', () => {
    const require = createRequire(import.meta.url);
    const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
    const check = spawnSync(process.execPath, [tsc, '-p', join(example('typescript'), 'tsconfig.json')], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  }, 150_000);
});
