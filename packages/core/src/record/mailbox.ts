import { randomBytes } from 'node:crypto';
import type { DeliveryFilter } from './filter.js';
import { type MessageHelpers, withMessageHelpers } from './message-content.js';
import type { CapturedMessage, ParsedMessage } from './parsed.js';
import { describeRecord, type WaitOptions } from './recorder.js';
import type { DeliveryRecord } from './records.js';
import { WaitTimeoutError } from './wait.js';

/**
 * What a mailbox reads: an in-process `Sink` or a `RemoteSink` (sync or async answers alike).
 * Needs capture `full` for `waitForMessage` and `messages`.
 */
export interface MailboxSource {
  waitFor(target: DeliveryFilter, options?: WaitOptions): Promise<DeliveryRecord[]>;
  deliveries(filter?: DeliveryFilter): DeliveryRecord[] | Promise<DeliveryRecord[]>;
  message(id: string): CapturedMessage | undefined | Promise<CapturedMessage | undefined>;
  describe(): string | Promise<string>;
}

/** Options of `createMailbox`. */
export interface MailboxOptions {
  /** Domain of the address (default `mailhole.test`: `.test` is reserved, RFC 2606). */
  domain?: string;
  /** Start of the local part, e.g. the test's name (default `user`); a random suffix follows. */
  prefix?: string;
}

/** Which message `waitForMessage` waits for: every given field must match. */
export interface MessageQuery {
  /** Substring of the decoded subject. */
  subject?: string;
  /** The envelope sender. */
  from?: string;
  /** Milliseconds before the wait fails (default: the sink's wait default, 3000). */
  timeout?: number;
}

/** A message of a mailbox: the parsed view with its helpers, and the delivery it came with. */
export type MailboxMessage = ParsedMessage &
  MessageHelpers & {
    /** The delivery id (also in the `250` reply). */
    readonly id: string;
    /** The delivery record: envelope, TLS, reply. */
    readonly record: DeliveryRecord;
    /** The message as received, byte for byte. */
    readonly raw: Buffer;
  };

/**
 * A unique address on a sink, for one test: it waits only for mail to that address, so tests in
 * parallel against one app server never see each other's mail. It reads like a remote sink view
 * (`accepted()`, `deliveries()`, `waitFor()`, `describe()`), so the mailhole matchers take it.
 *
 * @example const mailbox = createMailbox(sink); await signUp(mailbox.address); const m = await mailbox.waitForMessage({ subject: 'Welcome' });
 */
export class Mailbox {
  /** The address to give the app under test, e.g. `user-1a2b3c4d5e@mailhole.test`. */
  readonly address: string;
  private readonly taken = new Set<string>();

  constructor(
    private readonly sink: MailboxSource,
    options: MailboxOptions = {},
  ) {
    const domain = options.domain ?? 'mailhole.test';
    const prefix = options.prefix ?? 'user';
    if (
      typeof domain !== 'string' ||
      !/^[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*$/u.test(domain)
    ) {
      throw new TypeError(
        `createMailbox: option "domain" must be a domain such as "example.test", got ${JSON.stringify(domain)}`,
      );
    }
    if (typeof prefix !== 'string' || !/^[A-Za-z0-9._+-]{0,40}$/.test(prefix)) {
      throw new TypeError(
        `createMailbox: option "prefix" must be up to 40 letters, digits or . _ + -, got ${JSON.stringify(prefix)}`,
      );
    }
    const local = `${prefix}${prefix === '' ? '' : '-'}${randomBytes(5).toString('hex')}`;
    this.address = `${local}@${domain}`;
  }

  /** Accepted deliveries to this address. */
  async accepted(): Promise<number> {
    return (await this.deliveries()).length;
  }

  /** Accepted deliveries to this address, oldest first, narrowed by `filter`. */
  async deliveries(filter: DeliveryFilter = {}): Promise<DeliveryRecord[]> {
    return this.sink.deliveries({ ...filter, to: this.address });
  }

  /** Waits for `count` deliveries to this address (or for ones matching `filter`). */
  waitFor(target: number | DeliveryFilter, options: WaitOptions = {}): Promise<DeliveryRecord[]> {
    if (typeof target === 'number') return this.sink.waitFor({ to: this.address }, { ...options, count: target });
    return this.sink.waitFor({ ...target, to: this.address }, options);
  }

  /**
   * The next message to this address that matches, parsed, with `links()`, `link()` and `codes()`.
   * Each call returns a message not returned before (the oldest such), so two calls wait for two
   * mails. On timeout the error lists what did arrive at this address, then the sink's report.
   *
   * @example const message = await mailbox.waitForMessage({ subject: 'Sign in' }); await page.goto(message.links()[0]);
   */
  async waitForMessage(query: MessageQuery = {}): Promise<MailboxMessage> {
    const { subject, from, timeout } = query ?? {};
    const filter: DeliveryFilter = { to: this.address };
    if (subject !== undefined) filter.subject = subject;
    if (from !== undefined) filter.from = from;
    const before = (await this.sink.deliveries(filter)).filter((r) => this.taken.has(r.id)).length;
    let records: DeliveryRecord[];
    try {
      records = await this.sink.waitFor(filter, { count: before + 1, ...(timeout === undefined ? {} : { timeout }) });
    } catch (error) {
      if ((error as { name?: unknown } | undefined)?.name !== 'WaitTimeoutError') throw error;
      throw new WaitTimeoutError(await this.timeoutMessage(filter, error as Error), before + 1, before);
    }
    const record = records.find((r) => !this.taken.has(r.id)) as DeliveryRecord;
    this.taken.add(record.id);
    return this.read(record);
  }

  /** Every message to this address so far, oldest first, parsed. */
  async messages(filter: Omit<DeliveryFilter, 'to'> = {}): Promise<MailboxMessage[]> {
    const records = await this.deliveries(filter);
    return Promise.all(records.map((r) => this.read(r)));
  }

  /** What arrived at this address, for failure messages. */
  async describe(): Promise<string> {
    return `${listing(this.address, await this.deliveries())}\n${await this.sink.describe()}`;
  }

  private async read(record: DeliveryRecord): Promise<MailboxMessage> {
    const captured = await this.sink.message(record.id);
    if (captured === undefined) {
      throw new Error(
        `mailbox: the sink accepted message ${record.id} to <${this.address}> but kept no content: start the sink with capture: 'full' ` +
          '(or raise maxRecords / maxCaptureBytes if it was dropped to stay within them)',
      );
    }
    const parsed = await captured.parsed();
    // A copy: the parsed view is shared by every reader of the captured message.
    const message = withMessageHelpers({ ...parsed, id: record.id, record });
    Object.defineProperty(message, 'raw', { value: captured.raw, enumerable: false });
    return message as MailboxMessage;
  }

  private async timeoutMessage(filter: DeliveryFilter, error: Error): Promise<string> {
    const wanted = [
      filter.subject === undefined ? '' : ` with a subject containing ${JSON.stringify(filter.subject)}`,
      filter.from === undefined ? '' : ` from <${filter.from}>`,
    ].join('');
    const all = await Promise.resolve(this.sink.deliveries({ to: this.address })).catch(() => []);
    return [
      `mailbox.waitForMessage: no new message to <${this.address}>${wanted} arrived in time.`,
      listing(this.address, all, this.taken),
      '',
      error.message,
    ].join('\n');
  }
}

function listing(address: string, records: DeliveryRecord[], taken?: Set<string>): string {
  if (records.length === 0) return `Nothing arrived at <${address}>.`;
  const lines = records.map((r) => {
    const subject = r.subject === undefined ? '' : ` subject ${JSON.stringify(r.subject)}`;
    return `  ${describeRecord(r)}${subject}${taken?.has(r.id) ? ' (already returned)' : ''}`;
  });
  return `<${address}> received ${records.length} message(s):\n${lines.join('\n')}`;
}

/**
 * A mailbox with a unique address on `sink` (in-process or remote; capture `full`).
 *
 * @example const mailbox = createMailbox(await connectSink()); await mailbox.waitForMessage();
 */
export function createMailbox(sink: MailboxSource, options: MailboxOptions = {}): Mailbox {
  return new Mailbox(sink, options);
}
