import { EventEmitter } from 'node:events';
import type { Reply } from '../protocol/reply.js';
import { replyToString } from '../protocol/reply.js';
import type {
  ConnectionInfo,
  Delivery,
  FiredFault,
  MessageWriter,
  SessionObserver,
  Transaction,
} from '../protocol/types.js';
import { type DeliveryRecord, replyRecordToString, toDeliveryRecord } from './records.js';
import { checkWaitCount, Waiters, waitTimedOut, waitTimeout } from './wait.js';

/** Counters of a sink. Every count starts at 0 and `reset()` zeroes them. */
export interface SinkStats {
  /** Accepted deliveries: messages whose final reply to DATA or BDAT LAST was 2xx. */
  accepted: number;
  /** Messages whose final reply was 4xx or 5xx. */
  rejected: number;
  /** Connections accepted (over the connection limit ones included). */
  connections: number;
  /** Connections open right now (not zeroed by reset). */
  activeConnections: number;
  /** Connections turned away with 421 because of `maxConnections` or `maxConnectionsPerAddress`. */
  refusedConnections: number;
  /** Mail transactions started (MAIL FROM accepted). */
  transactions: number;
  recipientsAccepted: number;
  recipientsRejected: number;
  /** Message octets of accepted deliveries. */
  acceptedBytes: number;
  /** Octets read from clients, commands included. */
  receivedBytes: number;
  /** Fault rules that fired. */
  faults: number;
  /** Delivery records dropped to stay within `maxRecords` (counted, never silently lost). */
  evictedRecords: number;
  /** Messages whose content is kept right now (capture `full`). */
  capturedMessages: number;
  /** Octets of message content kept right now (capture `full`), at most `maxCaptureBytes`. */
  capturedBytes: number;
  /** Captured messages dropped to stay within `maxRecords` or `maxCaptureBytes`. */
  evictedMessages: number;
  /** Octets of the captured messages dropped to stay within the limits. */
  evictedBytes: number;
  /** Accepted messages whose content was not kept: larger than `maxCaptureBytes` or `maxMessageSize`. */
  uncapturedMessages: number;
}

/** The capture counters, kept by the capture store through `Recorder.count`. */
export type CaptureCounter =
  | 'capturedMessages'
  | 'capturedBytes'
  | 'evictedMessages'
  | 'evictedBytes'
  | 'uncapturedMessages';

/** A point in a sink's history: count or wait for what came after it (per-test accounting). */
export interface Mark {
  /** Sequence number of the last delivery record when the mark was taken. */
  seq: number;
  /** Accepted deliveries since the sink started (never reset) when the mark was taken. */
  acceptedTotal: number;
}

/** Selects deliveries; every given field must match. Works the same in-process and remotely. */
export interface DeliveryFilter {
  /** An envelope recipient, compared case-insensitively. */
  to?: string;
  /** The envelope sender, compared case-insensitively. */
  from?: string;
  /** Substring of the subject (needs the header section: capture `full` or header switches on). */
  subject?: string;
  /** A header that must be present, optionally with a value substring: `{ name: 'x-test', value: '42' }`. */
  header?: { name: string; value?: string };
  /** Only deliveries after this mark. */
  since?: Mark;
  /** Include rejected deliveries too (default: accepted only). */
  includeRejected?: boolean;
}

export type DeliveryPredicate = (record: DeliveryRecord) => boolean;

/** What a wait targets: a number of accepted deliveries, a predicate, or a filter. */
export type WaitTarget = number | DeliveryPredicate | DeliveryFilter;

export interface WaitOptions {
  /** Milliseconds before the wait fails (default 3000, `DEFAULT_WAIT_MS`). */
  timeout?: number;
  /** Count only deliveries after this mark. */
  since?: Mark;
  /** With a predicate or filter: how many matches to wait for (default 1). */
  count?: number;
  /** Abandons the wait (it rejects with the signal's reason), e.g. when an HTTP long-poll client leaves. */
  signal?: AbortSignal;
}

/** The last thing a session saw: for error messages that say more than "expected 1, got 0". */
export interface SessionEnd {
  connectionId: number;
  client: string;
  /** The last reply the client got, e.g. `530 5.7.0 Must issue a STARTTLS command first`. */
  lastReply: string | undefined;
  /** The last refusal (4xx/5xx) with the command it answered. */
  lastRefusal: string | undefined;
}

export interface RecorderOptions {
  /** How many delivery records to keep (oldest dropped first). */
  maxRecords: number;
  /** Keep the envelope record of each delivery (`envelope`, `full`) or only count (`count`). */
  keepRecords: boolean;
  /** Capture writer factory for full capture; `undefined` keeps no content. */
  capture?: ((transaction: Transaction, connection: ConnectionInfo) => MessageWriter | undefined) | undefined;
  /** Called with each finished delivery (capture stores the content it collected). */
  onDelivery?: ((record: DeliveryRecord, delivery: Delivery) => void) | undefined;
}

/**
 * Counts and remembers what a sink's sessions did, and wakes waiters. Event-driven: no polling.
 * Events: `connection`, `transaction`, `recipient`, `delivery` (a DeliveryRecord), `fault`, `disconnect`.
 */
export class Recorder extends EventEmitter implements SessionObserver {
  private counters: SinkStats = zeroStats();
  private records: DeliveryRecord[] = [];
  private seq = 0;
  private acceptedTotal = 0;
  private readonly waiters = new Waiters();
  private lastEnd: SessionEnd | undefined;
  private refusals = new Map<number, string>();

  constructor(private readonly options: RecorderOptions) {
    super();
  }

  /** True when delivery records are kept (capture is not `count`). */
  get keepsRecords(): boolean {
    return this.options.keepRecords;
  }

  /** Accepted deliveries since start or the last reset. */
  get accepted(): number {
    return this.counters.accepted;
  }

  stats(): SinkStats {
    return { ...this.counters };
  }

  /** A mark at the current point of history. */
  mark(): Mark {
    return { seq: this.seq, acceptedTotal: this.acceptedTotal };
  }

  /** Accepted deliveries after a mark (exact, even when records were evicted). */
  acceptedSince(mark: Mark): number {
    return this.acceptedTotal - mark.acceptedTotal;
  }

  /** Kept delivery records, oldest first, filtered. */
  deliveries(filter: DeliveryFilter | DeliveryPredicate = {}): DeliveryRecord[] {
    const match = typeof filter === 'function' ? (r: DeliveryRecord) => r.accepted && filter(r) : compileFilter(filter);
    return this.records.filter(match);
  }

  /** How the last session ended, for error messages. */
  get lastSession(): SessionEnd | undefined {
    return this.lastEnd;
  }

  /** Adds to a capture counter (the capture store keeps them here so `stats()` and `reset()` see them). */
  count(counter: CaptureCounter, delta: number): void {
    this.counters[counter] += delta;
  }

  reset(): void {
    const active = this.counters.activeConnections;
    this.counters = zeroStats();
    this.counters.activeConnections = active;
    this.records = [];
    this.lastEnd = undefined;
  }

  // --- SessionObserver --------------------------------------------------------------------

  transactionStarted(transaction: Transaction, connection: ConnectionInfo): void {
    this.counters.transactions++;
    if (this.listenerCount('transaction') > 0)
      this.emit('transaction', { sender: transaction.sender, connectionId: connection.id });
  }

  recipient(address: string, accepted: boolean, reply: Reply, connection: ConnectionInfo): void {
    if (accepted) this.counters.recipientsAccepted++;
    else this.counters.recipientsRejected++;
    if (this.listenerCount('recipient') > 0) {
      this.emit('recipient', { address, accepted, reply: replyToString(reply), connectionId: connection.id });
    }
  }

  messageWriter(transaction: Transaction, connection: ConnectionInfo): MessageWriter | undefined {
    return this.options.capture?.(transaction, connection);
  }

  refused(command: string, reply: Reply, connection: ConnectionInfo): void {
    this.refusals.set(connection.id, `${command ? `${command}: ` : ''}${replyToString(reply)}`);
  }

  faultFired(fault: FiredFault, connection: ConnectionInfo): void {
    this.counters.faults++;
    if (this.listenerCount('fault') > 0) this.emit('fault', { ...fault, connectionId: connection.id });
  }

  // --- from the server ----------------------------------------------------------------------

  connectionOpened(connection: ConnectionInfo, refused: boolean): void {
    this.counters.connections++;
    if (refused) this.counters.refusedConnections++;
    else this.counters.activeConnections++;
    if (this.listenerCount('connection') > 0) this.emit('connection', connection);
  }

  connectionClosed(connection: ConnectionInfo, lastReply: Reply | undefined, refused: boolean): void {
    if (!refused) this.counters.activeConnections--;
    const lastRefusal = this.refusals.get(connection.id);
    this.refusals.delete(connection.id);
    this.lastEnd = {
      connectionId: connection.id,
      client: `${connection.remoteAddress}:${connection.remotePort}`,
      lastReply: lastReply === undefined ? undefined : replyToString(lastReply),
      lastRefusal,
    };
    if (this.listenerCount('disconnect') > 0) this.emit('disconnect', this.lastEnd);
  }

  received(octets: number): void {
    this.counters.receivedBytes += octets;
  }

  /** The final reply of a transaction went out: count it, record it, wake waiters. */
  delivered(delivery: Delivery): void {
    const c = this.counters;
    if (delivery.accepted) {
      c.accepted++;
      c.acceptedBytes += delivery.size;
      this.acceptedTotal++;
    } else {
      c.rejected++;
    }
    this.seq++;
    const needRecord =
      this.options.keepRecords || this.options.onDelivery !== undefined || this.listenerCount('delivery') > 0;
    if (needRecord) {
      const record = toDeliveryRecord(delivery, this.seq);
      if (this.options.keepRecords) {
        if (this.records.push(record) > this.options.maxRecords) {
          // Drop in batches so eviction stays O(1) amortised; never more than maxRecords are kept after it.
          const excess = this.records.length - this.options.maxRecords;
          const drop = Math.min(this.records.length, Math.max(excess, this.options.maxRecords >> 4));
          this.records.splice(0, drop);
          c.evictedRecords += drop;
        }
      }
      this.options.onDelivery?.(record, delivery);
      this.emit('delivery', record);
    }
    this.waiters.check();
  }

  /**
   * Resolves when the target is reached, with the matching accepted delivery records.
   * Event-driven; rejects after `timeout` ms with a message that says what did arrive.
   */
  waitFor(target: WaitTarget, options: WaitOptions = {}): Promise<DeliveryRecord[]> {
    let timeout: number;
    try {
      timeout = waitTimeout(options.timeout);
      if (typeof target === 'number') checkWaitCount(target);
    } catch (error) {
      return Promise.reject(error);
    }
    const since = options.since;
    const wanted = typeof target === 'number' ? target : (options.count ?? 1);
    // Compiled once: waits re-check on every delivery.
    const sinceSeq = since?.seq ?? 0;
    const match: (r: DeliveryRecord) => boolean =
      typeof target === 'object'
        ? compileFilter(since ? { ...target, since } : target)
        : typeof target === 'function'
          ? (r) => r.accepted && r.seq > sinceSeq && target(r)
          : (r) => r.accepted && r.seq > sinceSeq;
    const matches = (): DeliveryRecord[] => this.records.filter(match);
    const count = (): number =>
      typeof target === 'number'
        ? since === undefined
          ? this.counters.accepted
          : this.acceptedSince(since)
        : matches().length;
    const reached = (): DeliveryRecord[] | undefined => (count() >= wanted ? matches() : undefined);
    const criterion =
      typeof target === 'number' ? undefined : typeof target === 'function' ? 'predicate' : JSON.stringify(target);
    const reportSince = since ?? (typeof target === 'object' ? target.since : undefined);
    return this.waiters.wait(reached, timeout, options.signal, () =>
      waitTimedOut(timeout, wanted, count(), criterion, this.describe(reportSince ? { since: reportSince } : {})),
    );
  }

  /** Rejects every pending wait (the sink is closing). */
  failWaiters(error: Error): void {
    this.waiters.failAll(error);
  }

  /** Records matching a raw predicate, rejected ones included (views combine filters with it). */
  select(match: (record: DeliveryRecord) => boolean): DeliveryRecord[] {
    return this.records.filter(match);
  }

  /**
   * A report of what arrived, for timeouts and failed assertions. With `since`, only the
   * records after that mark are listed (a per-test view's window).
   */
  describe(options: { limit?: number; since?: Mark } = {}): string {
    const limit = options.limit ?? 5;
    const lines: string[] = [];
    const c = this.counters;
    lines.push(
      `The sink saw ${c.connections} connection(s), ${c.transactions} transaction(s), ${c.accepted} accepted and ${c.rejected} rejected deliveries.`,
    );
    const since = options.since;
    const window = since === undefined ? this.records : this.records.filter((r) => r.seq > since.seq);
    if (since !== undefined) {
      lines.push(`Since this test's mark: ${this.acceptedSince(since)} accepted; ${window.length} record(s):`);
    }
    const recent = window.slice(-limit);
    for (const r of recent) lines.push(`  ${describeRecord(r)}`);
    if (window.length > recent.length) lines.push(`  … and ${window.length - recent.length} earlier record(s)`);
    const end = this.lastEnd;
    if (end !== undefined) {
      const what = end.lastRefusal ?? end.lastReply;
      if (what !== undefined)
        lines.push(`The last session (connection #${end.connectionId} from ${end.client}) ended with ${what}.`);
    } else if (c.connections === 0) {
      lines.push('No client connected: is the sender pointed at this sink (host and port)?');
    }
    return lines.join('\n');
  }
}

/** One line per delivery record, for reports. */
export function describeRecord(r: DeliveryRecord): string {
  const to = r.recipients.length > 0 ? r.recipients.join(', ') : '(no accepted recipient)';
  const tls = r.tls ? ` over ${r.tls.protocol}` : '';
  return `#${r.seq} ${r.accepted ? 'accepted' : 'rejected'} from <${r.sender}> to ${to}, ${r.size} octets${tls}: ${replyRecordToString(r.reply)}`;
}

export function compileFilter(filter: DeliveryFilter): (r: DeliveryRecord) => boolean {
  const to = filter.to?.toLowerCase();
  const from = filter.from?.toLowerCase();
  const subject = filter.subject;
  const header = filter.header ? { name: filter.header.name.toLowerCase(), value: filter.header.value } : undefined;
  const sinceSeq = filter.since?.seq;
  const includeRejected = filter.includeRejected === true;
  return (r) => {
    if (!includeRejected && !r.accepted) return false;
    if (sinceSeq !== undefined && r.seq <= sinceSeq) return false;
    if (to !== undefined && !r.recipients.some((a) => a.toLowerCase() === to)) return false;
    if (from !== undefined && r.sender.toLowerCase() !== from) return false;
    if (subject !== undefined && !(r.subject ?? '').includes(subject)) return false;
    if (header !== undefined) {
      const values = r.headers?.[header.name];
      if (values === undefined) return false;
      if (header.value !== undefined && !values.some((v) => v.includes(header.value as string))) return false;
    }
    return true;
  };
}

function zeroStats(): SinkStats {
  return {
    accepted: 0,
    rejected: 0,
    connections: 0,
    activeConnections: 0,
    refusedConnections: 0,
    transactions: 0,
    recipientsAccepted: 0,
    recipientsRejected: 0,
    acceptedBytes: 0,
    receivedBytes: 0,
    faults: 0,
    evictedRecords: 0,
    capturedMessages: 0,
    capturedBytes: 0,
    evictedMessages: 0,
    evictedBytes: 0,
    uncapturedMessages: 0,
  };
}
