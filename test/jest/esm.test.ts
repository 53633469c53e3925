import { beforeAll, describe, expect, it } from 'vitest';
import { type JestRun, leftovers, result, runJest } from './harness.js';

describe('ES module tests under node --experimental-vm-modules', () => {
  let run: JestRun;
  beforeAll(async () => {
    run = await runJest('esm', ['--detectOpenHandles'], { esm: true });
  }, 150_000);

  it('passes every test of the example and exits with code 0', () => {
    expect(run.report.numFailedTests, run.output).toBe(0);
    expect(run.report.numPassedTests).toBe(3);
    expect(run.code).toBe(0);
  });

  it('gives an ES module test the environment global with per-test counts', () => {
    expect(result(run.report, 'an ES module test sees the environment sink').status).toBe('passed');
    expect(result(run.report, 'and counts from zero in the next test').status).toBe('passed');
  });

  it('lets an ES module test import the hook helper', () => {
    expect(result(run.report, 'an ES module test imports the hook helper').status).toBe('passed');
  });

  it('leaves no open handle behind (--detectOpenHandles)', () => {
    expect(leftovers(run.output)).toEqual([]);
  });
});
