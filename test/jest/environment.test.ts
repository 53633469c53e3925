import { beforeAll, describe, expect, it } from 'vitest';
import { type JestRun, leftovers, result, runJest } from './harness.js';

describe('testEnvironment: @mailhole/jest/environment (CommonJS tests)', () => {
  let run: JestRun;
  beforeAll(async () => {
    run = await runJest('environment', ['--detectOpenHandles']);
  }, 150_000);

  it('passes every test of the example and exits with code 0', () => {
    expect(run.report.numFailedTests, run.output).toBe(0);
    expect(run.report.numPassedTests).toBe(5);
    expect(run.code).toBe(0);
  });

  it('gives two tests that each send one message a count of 1 each', () => {
    expect(result(run.report, 'the first test sends one mail and sees one').status).toBe('passed');
    expect(result(run.report, 'the second test starts from zero and sees only its own mail').status).toBe('passed');
  });

  it('hands records to tests as arrays of their own realm', () => {
    expect(result(run.report, 'records come back as arrays of this test realm').status).toBe('passed');
  });

  it('takes sink options from the per-file docblock (jest-environment-options)', () => {
    const test = result(run.report, 'the docblock gives this file a STARTTLS sink that a verifying client trusts');
    expect(test.failureMessages).toEqual([]);
    expect(test.status).toBe('passed');
  });

  it('leaves no open handle behind (--detectOpenHandles)', () => {
    expect(leftovers(run.output)).toEqual([]);
  });
});

describe('testEnvironmentOptions.mailhole with rejection presets', () => {
  it('answers as the config and the docblock say: a provider preset and a Postfix blocklist', async () => {
    const run = await runJest('rejections');
    expect(run.report.numFailedTests, run.output).toBe(0);
    expect(run.report.numPassedTests).toBe(2);
    expect(run.code).toBe(0);
  }, 150_000);
});

describe('testEnvironmentOptions.mailhole with a bad option', () => {
  it('fails the suites with a message naming the config key and the option', async () => {
    const run = await runJest('environment', ['--testEnvironmentOptions', '{"mailhole":{"tls":"tcp"}}']);
    expect(run.code).toBe(1);
    // The docblock of starttls.test.js replaces the whole "mailhole" key, so only per-test.test.js fails.
    expect(run.report.numRuntimeErrorTestSuites).toBe(1);
    const message = run.report.testResults.find((file) => file.name.endsWith('per-test.test.js'))?.message ?? '';
    expect(message).toContain(
      '@mailhole/jest/environment: could not start the sink from testEnvironmentOptions.mailhole',
    );
    expect(message).toContain('option "tls" must be "none", "starttls", "implicit" or "both", got "tcp"');
  }, 150_000);
});
