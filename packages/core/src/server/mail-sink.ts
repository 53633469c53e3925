import type { SinkFaults } from '../behaviour/fault-api.js';
import type { CapturedMessage } from '../record/parsed.js';
import type { Live, Reach, Read } from '../record/reach.js';
import type {
  DeliveryFilter,
  DeliveryPredicate,
  Mark,
  SinkStats,
  WaitOptions,
  WaitTarget,
} from '../record/recorder.js';
import type { DeliveryRecord } from '../record/records.js';
import type { ClientTlsOverrides, ClientTlsSettings } from '../tls/client-settings.js';

/** Which deliveries a view sees: those after its mark, optionally only to/from an address. */
export interface ViewScope {
  /** Only deliveries to this envelope recipient (concurrent tests on one sink don't see each other's mail). */
  to?: string;
  /** Only deliveries from this envelope sender. */
  from?: string;
}

/** Where a sink listens, shared by sinks and views. */
export interface SinkAddress {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly tlsPort: number | undefined;
  readonly ca: string | undefined;
  /** TLS settings for a client that verifies the sink (nodemailer's `tls` option). */
  clientTls?(overrides?: ClientTlsOverrides): ClientTlsSettings;
}

/**
 * What a test reads and does through a per-test window on a sink, the same for `SinkView`
 * (in-process) and `RemoteSinkView` (remote): counts start at the view's mark and match its scope.
 */
export interface MailSinkView<R extends Reach = Reach> extends SinkAddress {
  readonly scope: ViewScope;
  /** The mark this view counts from. */
  readonly mark: Mark;
  /** Accepted deliveries in this view: `view.accepted` in-process, `await view.accepted()` remotely. */
  readonly accepted: Live<R, number>;
  /** Kept delivery records in this view, oldest first. */
  deliveries(filter?: DeliveryFilter | DeliveryPredicate): Read<R, DeliveryRecord[]>;
  /** Like `sink.waitFor`, counting only this view's deliveries. */
  waitFor(target: WaitTarget, options?: WaitOptions): Promise<DeliveryRecord[]>;
  /** Starts counting afresh from now. */
  reset(): Read<R, void>;
  /** What the sink saw, for failure messages. */
  describe(): Read<R, string>;
}

/**
 * What a test reads and does with a sink, the same in-process (`Sink`, from `startSink`) and
 * remotely (`RemoteSink`, from `connectSink`): the same members mean the same thing. In-process
 * reads are values, remote reads are promises (`Read`); `accepted` is a property in-process and a
 * method remotely (`Live`). Code written against `MailSink` works with both when it awaits reads.
 *
 * @example async function expectOne(sink: MailSink) { await sink.waitFor(1); expect((await sink.stats()).accepted).toBe(1); }
 */
export interface MailSink<R extends Reach = Reach> extends SinkAddress {
  /** `smtps://host:tlsPort` of the implicit-TLS listener, when there is one. */
  readonly tlsUrl: string | undefined;
  /** Seed of every random choice: pass it as `seed` to repeat a run. */
  readonly seed: number;
  /** Accepted deliveries: `sink.accepted` in-process, `await remote.accepted()` remotely. */
  readonly accepted: Live<R, number>;
  /** The sink's fault rules. */
  readonly faults: SinkFaults<R>;
  /** Every counter (a copy). */
  stats(): Read<R, SinkStats>;
  /** A point in the sink's history, to count or wait for what comes after it. */
  mark(): Read<R, Mark>;
  /** Accepted deliveries after `mark`. */
  acceptedSince(mark: Mark): Read<R, number>;
  /** Kept delivery records (accepted ones unless the filter says `includeRejected`), oldest first. */
  deliveries(filter?: DeliveryFilter | DeliveryPredicate): Read<R, DeliveryRecord[]>;
  /** Kept messages (capture `full`) of the accepted deliveries matching the filter, oldest first. */
  messages(filter?: DeliveryFilter | DeliveryPredicate): Read<R, CapturedMessage[]>;
  /** The kept message of a delivery, by id. */
  message(id: string): Read<R, CapturedMessage | undefined>;
  /** Resolves when `target` is reached; rejects with a `WaitTimeoutError` after `timeout` ms saying what arrived. */
  waitFor(target: WaitTarget, options?: WaitOptions): Promise<DeliveryRecord[]>;
  /** Zeroes the counters and forgets the records. */
  reset(): Read<R, void>;
  /** A human-readable report of what the sink saw. */
  describe(): Read<R, string>;
  /** A per-test window: counts only what comes after now, optionally only mail to/from an address. */
  view(scope?: ViewScope): Read<R, MailSinkView<R>>;
}
