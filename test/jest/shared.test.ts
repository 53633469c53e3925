import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { example, type JestRun, leftovers, result, runJest, runJestRaw } from './harness.js';

describe('globalSetup/globalTeardown: one shared sink for three workers (-w 3)', () => {
  let run: JestRun;
  let dir: string;
  let reportFile: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mailhole-jest-shared-'));
    reportFile = join(dir, 'ca.json');
    run = await runJest('shared-sink', ['-w', '3'], { env: { EXAMPLE_REPORT_FILE: reportFile } });
  }, 150_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes every test of the three files and exits with code 0', () => {
    expect(run.report.numFailedTests, run.output).toBe(0);
    expect(run.report.numPassedTests).toBe(9);
    expect(run.report.testResults).toHaveLength(3);
    expect(run.code).toBe(0);
  });

  it('lets each worker see only its own mail while all three send to the one sink', () => {
    for (const who of ['ada', 'grace', 'alan']) {
      expect(result(run.report, `${who} sees only her own receipts while every worker sends`).failureMessages).toEqual(
        [],
      );
    }
  });

  it('publishes the sink to workers in MAILHOLE_* variables, the CA file included', () => {
    const tests = run.report.testResults.flatMap((f) => f.assertionResults);
    const found = tests.filter((t) => t.title === 'the worker finds the shared sink in MAILHOLE_* variables');
    expect(found.map((t) => t.status)).toEqual(['passed', 'passed', 'passed']);
  });

  it('removes the CA file in globalTeardown', async () => {
    const { caFile } = JSON.parse(await readFile(reportFile, 'utf8')) as { caFile: string };
    expect(caFile).toMatch(/mailhole-shared-.*ca\.pem$/);
    expect(existsSync(caFile)).toBe(false);
  });

  it('lets Jest exit at once (no "did not exit" warning)', () => {
    expect(leftovers(run.output)).toEqual([]);
  });
});

describe('the shared sink under --detectOpenHandles', () => {
  it('leaves no open handle after workers connected to it', async () => {
    // --detectOpenHandles runs in band; only the connecting test runs, the cross-worker one needs -w 3.
    const run = await runJest('shared-sink', ['--detectOpenHandles', '-t', 'MAILHOLE_']);
    expect(run.report.numPassedTests, run.output).toBe(3);
    expect(run.code).toBe(0);
    expect(leftovers(run.output)).toEqual([]);
  }, 150_000);
});

describe('globalSetup without globalTeardown', () => {
  it('fails at once, saying to add globalTeardown instead of hanging Jest', async () => {
    const config = JSON.stringify({ rootDir: example('shared-sink'), globalSetup: '@mailhole/jest/global-setup' });
    const run = await runJestRaw('shared-sink', ['--config', config]);
    expect(run.output).toContain("add globalTeardown: '@mailhole/jest/global-teardown' to the Jest config");
    expect(run.code).toBe(1);
  }, 150_000);
});
