import { beforeAll, describe, expect, it } from 'vitest';
import { type JestRun, leftovers, result, runJest } from './harness.js';

describe('useMailhole() in a project whose testEnvironment is jsdom', () => {
  let run: JestRun;
  beforeAll(async () => {
    run = await runJest('jsdom-hooks', ['--detectOpenHandles']);
  }, 150_000);

  it('passes every test of the example and exits with code 0', () => {
    expect(run.report.numFailedTests, run.output).toBe(0);
    expect(run.report.numPassedTests).toBe(5);
    expect(run.code).toBe(0);
  });

  it('runs the tests in jsdom while the sink counts what a form submit sent', () => {
    expect(result(run.report, 'runs in jsdom').status).toBe('passed');
    expect(result(run.report, 'submitting the form mails the address typed in').status).toBe('passed');
  });

  it('counts from zero in each test with scope "file"', () => {
    expect(result(run.report, 'the next test counts from zero on the same sink').status).toBe('passed');
  });

  it('starts a new sink on a new port for each test with scope "test"', () => {
    expect(result(run.report, 'gets another sink on another port').status).toBe('passed');
  });

  it('leaves no open handle behind (--detectOpenHandles)', () => {
    expect(leftovers(run.output)).toEqual([]);
  });
});
