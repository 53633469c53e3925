import { beforeAll, describe, expect, it } from 'vitest';
import { type ExampleRun, failuresOf, runExample, runner } from './harness.js';

describe(`the matchers, run by ${runner.label}`, { timeout: 180_000 }, () => {
  it('pass on sinks and views, waiting forms included', async () => {
    const { code, output, report } = await runExample('matchers');
    expect(report.numFailedTests, output).toBe(0);
    expect(report.numPassedTests).toBe(5);
    expect(code).toBe(0);
  });

  it('are registered by setupFiles for tests that never import @mailhole/vitest', async () => {
    const { code, output, report } = await runExample('setup-files');
    expect(report.numFailedTests, output).toBe(0);
    expect(report.numPassedTests).toBe(1);
    expect(code).toBe(0);
  });

  describe('failing', () => {
    let run: ExampleRun;
    beforeAll(async () => {
      run = await runExample('matchers-failing');
    }, 180_000);

    it('fail every test of the failing example, and Vitest still exits', () => {
      expect(run.report.numFailedTests, run.output).toBe(7);
      expect(run.report.numPassedTests).toBe(0);
      expect(run.code).toBe(1);
    });

    it('toHaveAccepted says the counts and lists what the sink accepted', () => {
      const message = failuresOf(run.report, 'toHaveAccepted with too few deliveries');
      expect(message).toContain('Expected 2 accepted deliveries, received 1.');
      expect(message).toContain(
        'The sink saw 1 connection(s), 1 transaction(s), 1 accepted and 0 rejected deliveries.',
      );
      expect(message).toMatch(/#1 accepted from <app@example\.test> to ada@example\.test, \d+ octets: 250 /);
    });

    it('not.toHaveAccepted says the sink did accept that many', () => {
      const message = failuresOf(run.report, 'not.toHaveAccepted with that very count');
      expect(message).toContain('Expected the sink not to have accepted 1 delivery, but it did.');
      expect(message).toContain('The sink saw 1 connection(s)');
    });

    it('toHaveReceivedMailTo names the recipients that were seen', () => {
      const message = failuresOf(run.report, 'toHaveReceivedMailTo with mail to someone else');
      expect(message).toContain(
        'Expected a delivery to <bob@example.test>, but none arrived (recipients seen: ada@example.test).',
      );
    });

    it('toReceive says how long it waited and what arrived', () => {
      const message = failuresOf(run.report, 'toReceive when the second mail never comes');
      expect(message).toContain('waitFor timed out after 300 ms with 1 of 2 deliveries.');
      expect(message).toMatch(/#1 accepted from <app@example\.test> to ada@example\.test/);
    });

    it('a matcher given something else says what it expected', () => {
      const message = failuresOf(run.report, 'a matcher given something that is not a sink');
      expect(message).toContain('toHaveAccepted: expected a mailhole sink, view or remote sink');
      expect(message).toContain('got an object with keys port');
    });

    it('a failing plain assertion is followed by what the sink saw', () => {
      const message = failuresOf(run.report, 'a plain assertion failure still shows what the sink saw');
      expect(message).toContain("expected 'failed' to be 'sent'");
      expect(message).toContain('What the mailhole sink saw:');
      expect(message).toContain(
        'The sink saw 1 connection(s), 0 transaction(s), 0 accepted and 0 rejected deliveries.',
      );
    });

    it('each failure carries one sink report, taken when it failed, never one from the close', () => {
      const all = run.report.testResults.flatMap((file) => file.assertionResults);
      const reports = all.map((t) => ({
        title: t.title,
        count: t.failureMessages.join('\n').split('The sink saw ').length - 1,
        closing: t.failureMessages.join('\n').includes('4.3.2'),
      }));

      expect(reports.filter((r) => r.title !== 'a matcher given something that is not a sink')).toEqual(
        reports
          .filter((r) => r.title !== 'a matcher given something that is not a sink')
          .map((r) => ({
            ...r,
            count: 1,
            closing: false,
          })),
      );
      expect(failuresOf(run.report, 'toHaveAccepted while a pooled connection is still open')).toContain(
        'Expected 2 accepted deliveries, received 1.',
      );
    });

    it('the default reporter prints the same reports', () => {
      expect(run.output).toContain('Expected 2 accepted deliveries, received 1.');
      expect(run.output).toContain('What the mailhole sink saw:');
    });
  });
});
