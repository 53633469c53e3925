import { HeaderSectionCollector } from '../protocol/header-section.js';
import type { ConnectionInfo, Delivery, MessageWriter } from '../protocol/types.js';
import { CapturedMessage } from './parsed.js';
import type { CaptureCounter } from './recorder.js';
import { addHeaderSection, type DeliveryRecord } from './records.js';

/** Limits of full capture. */
export interface CaptureLimits {
  /** Messages kept at most (the sink's `maxRecords`). */
  maxMessages: number;
  /** Octets kept at most, messages being received included (`maxCaptureBytes`). */
  maxBytes: number;
  /** Largest message the sink accepts (`maxMessageSize`); 0 = no limit. */
  maxMessageSize: number;
}

/**
 * Keeps the content of deliveries (capture `full`) within a message count and a byte budget.
 * The budget covers messages still streaming in, so a burst of large messages cannot grow memory
 * past it: the oldest kept messages make room first, and a message that still does not fit is not
 * kept (it is delivered and counted all the same). Every drop is counted in the sink's stats.
 */
export class CaptureStore {
  private readonly kept = new Map<string, CapturedMessage>();
  private storedBytes = 0;
  private inflightBytes = 0;
  /** The writer of the message each connection is sending, to release its bytes if it is abandoned. */
  private readonly open = new Map<number, CaptureWriter>();
  private readonly perMessage: number;

  constructor(
    private readonly limits: CaptureLimits,
    private readonly count: (counter: CaptureCounter, delta: number) => void,
  ) {
    this.perMessage = limits.maxMessageSize > 0 ? Math.min(limits.maxMessageSize, limits.maxBytes) : limits.maxBytes;
  }

  /** A writer for the message a connection starts (any earlier one of that connection was abandoned). */
  writer(connection: ConnectionInfo): MessageWriter {
    this.open.get(connection.id)?.release();
    const writer = new CaptureWriter(this, connection.id);
    this.open.set(connection.id, writer);
    return writer;
  }

  /** The connection ended: a message it was still sending is gone (RSET, abort, timeout). */
  connectionClosed(connectionId: number): void {
    this.open.get(connectionId)?.release();
    this.open.delete(connectionId);
  }

  /** A transaction finished: keep its content with the record, and its header section for filters. */
  delivered(record: DeliveryRecord, delivery: Delivery): void {
    const writer = delivery.writer;
    if (!(writer instanceof CaptureWriter) || writer.store !== this) return;
    if (this.open.get(writer.connectionId) === writer) this.open.delete(writer.connectionId);
    const header = writer.headerSection();
    if (record.headers === undefined && header !== undefined) addHeaderSection(record, header);
    const raw = writer.take(delivery.size);
    if (raw === undefined) {
      if (delivery.accepted) this.count('uncapturedMessages', 1);
      return;
    }
    this.kept.set(record.id, new CapturedMessage(record, raw));
    this.storedBytes += raw.length;
    this.count('capturedMessages', 1);
    this.count('capturedBytes', raw.length);
    while (this.kept.size > this.limits.maxMessages) this.evictOldest();
  }

  /** The kept message with this delivery id. */
  message(id: string): CapturedMessage | undefined {
    return this.kept.get(id);
  }

  /** The kept messages of these records, in their order (records whose content was not kept are skipped). */
  messagesOf(records: readonly DeliveryRecord[]): CapturedMessage[] {
    const out: CapturedMessage[] = [];
    for (const record of records) {
      const message = this.kept.get(record.id);
      if (message !== undefined) out.push(message);
    }
    return out;
  }

  /** Forgets every kept message (the sink was reset; its counters were zeroed with it). */
  clear(): void {
    this.kept.clear();
    this.storedBytes = 0;
  }

  /** @internal a writer asks for room for `octets` more; false when the message cannot be kept. */
  reserve(writer: CaptureWriter, octets: number): boolean {
    if (writer.length + octets > this.perMessage) return false;
    while (this.storedBytes + this.inflightBytes + octets > this.limits.maxBytes && this.kept.size > 0) {
      this.evictOldest();
    }
    if (this.storedBytes + this.inflightBytes + octets > this.limits.maxBytes) return false;
    this.inflightBytes += octets;
    return true;
  }

  /** @internal a writer gives back octets it held (dropped, abandoned or stored). */
  unreserve(octets: number): void {
    this.inflightBytes -= octets;
  }

  private evictOldest(): void {
    const first = this.kept.entries().next();
    if (first.done) return;
    const [id, message] = first.value;
    this.kept.delete(id);
    this.storedBytes -= message.size;
    this.count('capturedMessages', -1);
    this.count('capturedBytes', -message.size);
    this.count('evictedMessages', 1);
    this.count('evictedBytes', message.size);
  }
}

/**
 * Collects one message's octets. Chunks are views of socket buffers that are reused, so they are
 * copied; past the byte budget the content is dropped but the header section is still kept.
 */
class CaptureWriter implements MessageWriter {
  private parts: Buffer[] = [];
  /** Octets held (reserved in the store). */
  length = 0;
  private state: 'keeping' | 'dropped' | 'done' = 'keeping';
  /** Kept even when the content is dropped: records and filters read it. */
  private readonly header = new HeaderSectionCollector();

  constructor(
    readonly store: CaptureStore,
    readonly connectionId: number,
  ) {}

  write(chunk: Buffer): void {
    if (this.state === 'done' || chunk.length === 0) return;
    this.header.add(chunk);
    if (this.state === 'dropped') return;
    if (!this.store.reserve(this, chunk.length)) {
      this.drop();
      return;
    }
    this.parts.push(Buffer.from(chunk));
    this.length += chunk.length;
  }

  /** The header section seen, `undefined` when the message had no octets. */
  headerSection(): Buffer | undefined {
    return this.header.size === 0 ? undefined : this.header.result();
  }

  /** The whole message when every one of its `size` octets was kept; releases the reservation either way. */
  take(size: number): Buffer | undefined {
    const complete = this.state === 'keeping' && this.length === size;
    const raw = complete ? Buffer.concat(this.parts, this.length) : undefined;
    this.release();
    return raw;
  }

  /** Gives the held octets back to the budget; the writer keeps nothing more. */
  release(): void {
    if (this.state === 'done') return;
    this.store.unreserve(this.length);
    this.parts = [];
    this.length = 0;
    this.state = 'done';
  }

  private drop(): void {
    this.store.unreserve(this.length);
    this.parts = [];
    this.length = 0;
    this.state = 'dropped';
  }
}
