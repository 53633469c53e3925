/** The part of a Vitest test case the failure report touches (the same in Vitest 4 and 5). */
export interface FailedTask {
  readonly result?: { errors?: Array<{ message?: string; stack?: string }> } | undefined;
}

// Every sink report (sink.describe(), a view's, a remote sink's) starts with this line. A failed
// mailhole matcher's message already holds the report as it was when the assertion failed.
const REPORT_START = /^The sink saw \d+ connection\(s\)/m;

/**
 * Appends what the sink saw to the first error of a failed test, so the failure reads "expected
 * 200, got 500" followed by the deliveries and the last reply, in every reporter (the JSON reporter
 * prints the stack, the others the message: both get it). A failure that already carries a sink
 * report (a mailhole matcher's, taken when it failed) is left alone: one report, never a second
 * one taken later, when the sink may be closing.
 */
export function appendReport(task: FailedTask, report: string): void {
  const errors = task.result?.errors;
  const first = errors?.[0];
  if (errors === undefined || first === undefined) return;
  if (errors.some((e) => REPORT_START.test(e.message ?? '') || REPORT_START.test(e.stack ?? ''))) return;
  const addition = `\n\nWhat the mailhole sink saw:\n${report}`;
  const message = first.message ?? '';
  first.message = `${message}${addition}`;
  if (first.stack !== undefined) {
    first.stack =
      message !== '' && first.stack.includes(message)
        ? first.stack.replace(message, () => first.message as string)
        : `${first.stack}${addition}`;
  }
}
