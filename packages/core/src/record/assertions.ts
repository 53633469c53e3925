import { sameAddress } from '../protocol/address-compare.js';
import type { DeliveryFilter, DeliveryPredicate, WaitOptions } from './recorder.js';
import type { DeliveryRecord } from './records.js';

/** What the checks read in-process: a `Sink`, a `SinkView`, or a test runner's handle on one. */
export interface LocalMailSource {
  readonly accepted: number;
  deliveries(filter?: DeliveryFilter | DeliveryPredicate): DeliveryRecord[];
  waitFor(target: number, options?: WaitOptions): Promise<DeliveryRecord[]>;
  describe(): string;
}

/** What the checks read remotely: a `RemoteSink` or `RemoteSinkView`, where every read is async. */
export interface RemoteMailSource {
  accepted(): Promise<number>;
  deliveries(filter?: DeliveryFilter | DeliveryPredicate): Promise<DeliveryRecord[]>;
  waitFor(target: number, options?: WaitOptions): Promise<DeliveryRecord[]>;
  describe(): Promise<string>;
}

/** Anything the checks accept. */
export type MailSource = LocalMailSource | RemoteMailSource;

/** Options of `checkReceive` (and of the `toReceive` matchers). */
export interface ReceiveOptions {
  /** Milliseconds to wait before the assertion fails (default 3000, as `waitFor`). */
  timeout?: number;
}

/** What a check answers: the shape an `expect.extend` matcher returns. */
export interface CheckResult {
  pass: boolean;
  /** Says why the assertion failed, or (negated) why it should not have passed; ends with the sink's report. */
  message: () => string;
}

/** The part of a Jest or Vitest matcher's `this` the checks read (the same in Jest 29/30 and Vitest 4/5). */
export interface ExpectMatcherContext {
  isNot?: boolean | undefined;
  utils: {
    matcherHint(name: string, received?: string, expected?: string, options?: { isNot?: boolean | undefined }): string;
  };
}

/** How a check words its messages for the test runner that calls it. */
export interface CheckOptions {
  /**
   * The calling matcher's `this`: its `matcherHint` heads every message, e.g.
   * `expect(mailhole).toHaveAccepted(2)`. Without it a message starts with what was expected.
   */
  matcher?: ExpectMatcherContext;
  /**
   * What the runner's users may pass, named in the TypeError for anything else: `expected a mailhole <sources>, got …`
   * (default `sink, view or remote sink (with accepted, deliveries, waitFor and describe)`).
   */
  sources?: string;
}

const DEFAULT_SOURCES = 'sink, view or remote sink (with accepted, deliveries, waitFor and describe)';

/**
 * The sink or view accepted exactly `count` deliveries. Synchronous for an in-process source, a
 * promise for a remote one. Backs the `toHaveAccepted` matchers of `@mailhole/vitest` and `@mailhole/jest`.
 *
 * @example const { pass, message } = await checkAccepted(sink, 1); assert.ok(pass, message());
 */
export function checkAccepted(
  received: unknown,
  count: number,
  options: CheckOptions = {},
): CheckResult | Promise<CheckResult> {
  const source = checkSource(received, 'toHaveAccepted', options);
  const expected = checkCount(count, 'toHaveAccepted');
  const head = hint(options, 'toHaveAccepted', String(expected));
  if (isLocal(source)) return acceptedResult(head, expected, source.accepted, source.describe());
  return Promise.all([source.accepted(), source.describe()]).then(([actual, report]) =>
    acceptedResult(head, expected, actual, report),
  );
}

/**
 * An accepted delivery has `address` among its envelope recipients (case-insensitive; needs capture
 * `envelope` or `full`). Synchronous for an in-process source, a promise for a remote one. Backs
 * the `toHaveReceivedMailTo` matchers.
 *
 * @example const { pass, message } = await checkReceivedMailTo(remote, 'ada@example.test'); assert.ok(pass, message());
 */
export function checkReceivedMailTo(
  received: unknown,
  address: string,
  options: CheckOptions = {},
): CheckResult | Promise<CheckResult> {
  const source = checkSource(received, 'toHaveReceivedMailTo', options);
  const to = checkAddress(address);
  const head = hint(options, 'toHaveReceivedMailTo', JSON.stringify(to));
  if (isLocal(source)) return mailToResult(head, to, source.deliveries(), source.describe());
  return Promise.all([source.deliveries(), source.describe()]).then(([all, report]) =>
    mailToResult(head, to, all, report),
  );
}

/**
 * Waits until the sink or view has accepted at least `count` deliveries; fails (resolves with
 * `pass: false`) after `timeout` ms, saying what did arrive. Any other error, a closed sink say,
 * rejects. Backs the `toReceive` matchers.
 *
 * @example const { pass, message } = await checkReceive(sink, 2, { timeout: 5000 }); assert.ok(pass, message());
 */
export async function checkReceive(
  received: unknown,
  count: number,
  receive?: ReceiveOptions,
  options: CheckOptions = {},
): Promise<CheckResult> {
  const source = checkSource(received, 'toReceive', options);
  const expected = checkCount(count, 'toReceive');
  const timeout = checkTimeout(receive);
  const head = hint(options, 'toReceive', String(expected));
  try {
    await source.waitFor(expected, timeout === undefined ? {} : { timeout });
  } catch (error) {
    // Only a timeout is an assertion failure. Matched by name, not instanceof: under Jest the error
    // comes from another realm (the test environment's copy of this package).
    if ((error as { name?: unknown } | undefined)?.name !== 'WaitTimeoutError') throw error;
    const text = (error as Error).message;
    return { pass: false, message: () => compose(head, text) };
  }
  const report = await source.describe();
  const within = timeout === undefined ? '' : ` within ${timeout} ms`;
  return {
    pass: true,
    message: () =>
      compose(
        head,
        `Expected the sink not to receive ${plural(expected, 'delivery', 'deliveries')}${within}, but it did.`,
        report,
      ),
  };
}

function isLocal(source: MailSource): source is LocalMailSource {
  return typeof source.accepted === 'number';
}

// Duck-typed, not instanceof: Jest hands over handles and sinks made in another realm.
function checkSource(received: unknown, matcher: string, options: CheckOptions): MailSource {
  const s = received as Partial<Record<'accepted' | 'deliveries' | 'waitFor' | 'describe', unknown>> | null;
  const ok =
    s !== null &&
    (typeof s === 'object' || typeof s === 'function') &&
    (typeof s.accepted === 'number' || typeof s.accepted === 'function') &&
    typeof s.deliveries === 'function' &&
    typeof s.waitFor === 'function' &&
    typeof s.describe === 'function';
  if (!ok) {
    throw new TypeError(
      `${matcher}: expected a mailhole ${options.sources ?? DEFAULT_SOURCES}, got ${describeValue(received)}`,
    );
  }
  return received as MailSource;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return `${typeof value} ${String(value)}`;
  return `an object with keys ${Object.keys(value).join(', ') || '(none)'}`;
}

function checkCount(value: unknown, matcher: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`${matcher}: the expected count must be a whole number >= 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkAddress(value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(
      `toHaveReceivedMailTo: the expected recipient must be an address such as "ada@example.test", got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function checkTimeout(options: unknown): number | undefined {
  const timeout = (options as ReceiveOptions | null | undefined)?.timeout;
  if (timeout === undefined) return undefined;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
    throw new RangeError(`toReceive: option "timeout" must be milliseconds >= 0, got ${JSON.stringify(timeout)}`);
  }
  return timeout;
}

function hint(options: CheckOptions, matcher: string, expected: string): string | undefined {
  const context = options.matcher;
  return context?.utils.matcherHint(matcher, 'mailhole', expected, { isNot: context.isNot });
}

// The sink's own report follows every message: a failure says what arrived, not only "expected 1, got 0".
function compose(head: string | undefined, text: string, report?: string): string {
  const body = report === undefined ? text : `${text}\n\n${report}`;
  return head === undefined ? body : `${head}\n\n${body}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function acceptedResult(head: string | undefined, expected: number, actual: number, report: string): CheckResult {
  const pass = actual === expected;
  return {
    pass,
    message: () =>
      compose(
        head,
        pass
          ? `Expected the sink not to have accepted ${plural(expected, 'delivery', 'deliveries')}, but it did.`
          : `Expected ${plural(expected, 'accepted delivery', 'accepted deliveries')}, received ${actual}.`,
        report,
      ),
  };
}

function mailToResult(head: string | undefined, address: string, all: DeliveryRecord[], report: string): CheckResult {
  // Matched here rather than with a `{ to }` filter: on a view scoped to another recipient the
  // filter's address would give way to the view's own.
  const matching = all.filter((r) => r.recipients.some((a) => sameAddress(a, address))).length;
  const recipients = [...new Set(all.flatMap((r) => r.recipients))];
  const seen =
    recipients.length === 0 ? 'no accepted delivery has a recipient' : `recipients seen: ${recipients.join(', ')}`;
  return {
    pass: matching > 0,
    message: () =>
      compose(
        head,
        matching > 0
          ? `Expected no delivery to <${address}>, but ${plural(matching, 'delivery', 'deliveries')} went to it.`
          : `Expected a delivery to <${address}>, but none arrived (${seen}).`,
        report,
      ),
  };
}
