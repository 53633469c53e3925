/** The part of a Vitest test case the failure report touches (the same in Vitest 4 and 5). */
export interface FailedTask {
  readonly result?: { errors?: Array<{ message?: string; stack?: string }> } | undefined;
}

/**
 * Appends what the sink saw to the first error of a failed test, so the failure reads "expected
 * 200, got 500" followed by the deliveries and the last reply, in every reporter (the JSON reporter
 * prints the stack, the others the message: both get it). A matcher message that already carries
 * the same report is left alone.
 */
export function appendReport(task: FailedTask, report: string): void {
  const errors = task.result?.errors;
  const first = errors?.[0];
  if (errors === undefined || first === undefined) return;
  if (errors.some((e) => e.message?.includes(report) || e.stack?.includes(report))) return;
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
