import { beforeAll, describe, expect, it } from 'vitest';
import { type ExampleRun, failuresOf, hangWarnings, runExample, runner } from './harness.js';

describe(`the shared sink of the global setup, run by ${runner.label}`, { timeout: 180_000 }, () => {
  it('serves several files from one sink with per-test counts, and stops so Vitest exits', async () => {
    const { code, output, report } = await runExample('global-setup');
    expect(report.numFailedTests, output).toBe(0);
    expect(report.numPassedTests).toBe(7);
    expect(report.testResults).toHaveLength(3);
    // Every file printed the port it sent to: one port, the global setup's. (A slow test's title ends
    // in "shared sink 340ms" in the default reporter: not a port.)
    const ports = [...output.matchAll(/shared sink (\d+)(?![\dm])/g)].map((m) => m[1]);
    expect(ports).toHaveLength(5);
    expect(new Set(ports).size).toBe(1);
    expect(code).toBe(0);
    expect(output).not.toMatch(hangWarnings);
  });

  describe('failing', () => {
    let run: ExampleRun;
    beforeAll(async () => {
      run = await runExample('shared-failing');
    }, 180_000);

    it('awaited matchers on the shared sink fail with its report', () => {
      const message = failuresOf(run.report, 'toHaveAccepted on the shared sink with too few deliveries');
      expect(message).toContain('Expected 2 accepted deliveries, received 1.');
      expect(message).toMatch(/#1 accepted from <app@example\.test> to ada@shared\.test/);
    });

    it('a plain assertion failure is followed by what the shared sink saw', () => {
      const message = failuresOf(run.report, 'a plain assertion failure shows what the shared sink saw');
      expect(message).toContain('What the mailhole sink saw:');
      expect(message).toMatch(/accepted from <app@example\.test> to bob@shared\.test/);
    });

    it('both tests fail and Vitest still exits', () => {
      expect(run.report.numFailedTests, run.output).toBe(2);
      expect(run.code).toBe(1);
      expect(run.output).not.toMatch(hangWarnings);
    });
  });
});
