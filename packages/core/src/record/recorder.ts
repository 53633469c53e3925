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
import { compileFilter, type DeliveryFilter, type DeliveryPredicate, type Mark } from './filter.js';
import { type DeliveryRecord, replyRecordToString, toDeliveryRecord } from './records.js';
import { type CaptureCounter, type SinkStats, zeroStats } from './stats.js';
import { checkWaitCount, Waiters, waitTimedOut, waitTimeout } from './wait.js';

export type { DeliveryFilter, DeliveryPredicate, Mark } from './filter.js';
export { compileFilter } from './filter.js';
export type { CaptureCounter, SinkStats } from './stats.js';

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
