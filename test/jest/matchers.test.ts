import { beforeAll, describe, expect, it } from 'vitest';
import { type JestRun, leftovers, result, runJest } from './harness.js';

describe('the matchers (@mailhole/jest/matchers in setupFilesAfterEnv)', () => {
  let run: JestRun;
  beforeAll(async () => {
    run = await runJest('matchers');
  }, 150_000);

  it('pass on in-process handles, whole sinks and the remote shared sink', () => {
    const passing = run.report.testResults.find((file) => file.name.endsWith('passing.test.js'));
    expect(passing?.assertionResults.map((r) => [r.title, r.status, r.failureMessages])).toEqual(
      passing?.assertionResults.map((r) => [r.title, 'passed', []]),
    );
    expect(passing?.assertionResults).toHaveLength(6);
  });

  it('fail the run (exit code 1) when an example is expected to fail', () => {
    expect(run.report.numFailedTests).toBe(5);
    expect(run.code).toBe(1);
  });

  it('say the expected and received count of toHaveAccepted, then what the sink saw', () => {
    const [message] = result(run.report, 'fails: toHaveAccepted with the wrong count').failureMessages;
    expect(message).toContain('expect(mailhole).toHaveAccepted(2)');
    expect(message).toContain('Expected 2 accepted deliveries, received 1.');
    expect(message).toContain('The sink saw 1 connection(s), 1 transaction(s), 1 accepted and 0 rejected deliveries.');
    expect(message).toMatch(/#1 accepted from <app@example\.test> to ada@example\.test, \d+ octets: 250 /);
  });

  it('name the recipients that did get mail when toHaveReceivedMailTo fails', () => {
    const [message] = result(
      run.report,
      'fails: toHaveReceivedMailTo with a recipient that got nothing',
    ).failureMessages;
    expect(message).toContain(
      'Expected a delivery to <alan@example.test>, but none arrived (recipients seen: grace@example.test).',
    );
    expect(message).toContain('The sink saw 2 connection(s)');
  });

  it('say how long toReceive waited and how many of how many arrived', () => {
    const [message] = result(run.report, 'fails: toReceive when the mail never comes').failureMessages;
    expect(message).toContain('expect(mailhole).toReceive(2)');
    expect(message).toContain('waitFor timed out after 300 ms with 1 of 2 deliveries.');
    expect(message).toMatch(/to edsger@example\.test/);
  });

  it('say what they expected when given something that is not a sink', () => {
    const [message] = result(run.report, 'fails: toHaveAccepted on something that is not a sink').failureMessages;
    expect(message).toContain('toHaveAccepted: expected a mailhole sink, view, handle or remote sink');
    expect(message).toContain('got an object with keys port');
  });

  it('include the remote sink report when a matcher on the shared sink fails', () => {
    const [message] = result(run.report, 'fails: toHaveAccepted with the report of the remote sink').failureMessages;
    expect(message).toContain('Expected 3 accepted deliveries, received 1.');
    expect(message).toMatch(/The sink saw \d+ connection\(s\)/);
    expect(message).toMatch(/accepted from <app@example\.test> to remote@example\.test/);
  });

  it('leave nothing running after a failing run', () => {
    expect(leftovers(run.output)).toEqual([]);
  });
});
