import { describe, expect, it } from 'vitest';
import { hangWarnings, runExample, runner } from './harness.js';

// Each test starts a whole Vitest run: a busy machine can take a while, so the limit is generous.
describe(`the fixtures, run by ${runner.label}`, { timeout: 180_000 }, () => {
  it("runs the README's opening test as written", async () => {
    const { code, output, report } = await runExample('readme');
    expect(report.numPassedTests, output).toBe(1);
    expect(code).toBe(0);
  });

  it('gives each test its own sink, starts none for tests that do not ask, and lets Vitest exit', async () => {
    const { code, output, report } = await runExample('per-test');
    expect(report.numFailedTests, output).toBe(0);
    expect(report.numPassedTests).toBe(4);
    expect(code).toBe(0);
    expect(output).not.toMatch(hangWarnings);
  });

  it('gives concurrent tests sinks on distinct ports with counts of their own', async () => {
    const { code, output, report } = await runExample('concurrent');
    expect(report.numFailedTests, output).toBe(0);
    expect(report.numPassedTests).toBe(5);
    expect(code).toBe(0);
  });

  it('shares a file-scoped sink between the tests of a file while each counts from 0', async () => {
    const { code, output, report } = await runExample('file-scope');
    expect(report.numFailedTests, output).toBe(0);
    expect(report.numPassedTests).toBe(4);
    expect(code).toBe(0);
  });

  it('shares a worker-scoped sink between files of one worker while each test counts from 0', async () => {
    const { code, output, report } = await runExample('worker-scope');
    expect(report.numFailedTests, output).toBe(0);
    expect(report.numPassedTests).toBe(2);
    // Both files report the same sink, which by the second file has the mail of both.
    const lines = [...output.matchAll(/worker sink (\d+) has accepted (\d+)/g)];
    expect(lines).toHaveLength(2);
    expect(new Set(lines.map((m) => m[1])).size).toBe(1);
    expect(Math.max(...lines.map((m) => Number(m[2])))).toBe(3);
    expect(code).toBe(0);
    expect(output).not.toMatch(hangWarnings);
  });

  it('composes with other fixtures, an app fixture depending on mailhole', async () => {
    const { code, output, report } = await runExample('composed');
    expect(report.numFailedTests, output).toBe(0);
    expect(report.numPassedTests).toBe(2);
    expect(code).toBe(0);
  });

  it('serves STARTTLS per suite, verified by nodemailer against the sink CA', async () => {
    const { code, output, report } = await runExample('starttls');
    expect(report.numFailedTests, output).toBe(0);
    expect(report.numPassedTests).toBe(4);
    expect(code).toBe(0);
  });

  it('takes rejection presets and blocklists from the config and test.override', async () => {
    const { code, output, report } = await runExample('rejections');
    expect(report.numFailedTests, output).toBe(0);
    expect(report.numPassedTests).toBe(2);
    expect(code).toBe(0);
  });
});
