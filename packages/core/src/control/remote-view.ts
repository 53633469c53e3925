import type { CapturedMessage } from '../record/parsed.js';
import {
  compileFilter,
  type DeliveryFilter,
  type DeliveryPredicate,
  type Mark,
  type WaitOptions,
  type WaitTarget,
} from '../record/recorder.js';
import type { DeliveryRecord } from '../record/records.js';
import type { MailSinkView, ViewScope } from '../server/mail-sink.js';
import { SinkAddressOf } from '../server/view.js';
import type { ClientTlsOverrides, ClientTlsSettings } from '../tls/client-settings.js';
import { markToken } from './query.js';

// A per-test window on a remote sink (`remote.view()`), the remote `MailSinkView`.

/** What a remote view asks of its sink: `RemoteSink` gives it. */
export interface RemoteViewSource {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly tlsPort: number | undefined;
  readonly ca: string | undefined;
  clientTls(overrides?: ClientTlsOverrides): ClientTlsSettings;
  acceptedSince(mark: Mark): Promise<number>;
  deliveries(filter?: DeliveryFilter | DeliveryPredicate): Promise<DeliveryRecord[]>;
  messages(filter?: DeliveryFilter | DeliveryPredicate): Promise<CapturedMessage[]>;
  mark(): Promise<Mark>;
  describe(): Promise<string>;
  /** @internal deliveries with the mark they were read at. */
  deliveriesAndMark(
    filter: DeliveryFilter | DeliveryPredicate,
    scope?: DeliveryFilter,
  ): Promise<{ deliveries: DeliveryRecord[]; mark: Mark }>;
  /** @internal a wait within a scope. */
  wait(target: WaitTarget, options: WaitOptions, scope: DeliveryFilter): Promise<DeliveryRecord[]>;
}

/**
 * A per-test window on a remote sink, like `SinkView`: counts only what came after its mark and
 * matches its scope. `reset()` moves the mark to now.
 *
 * @example const view = await remote.view(); await send(); expect(await view.accepted()).toBe(1);
 */
export class RemoteSinkView extends SinkAddressOf implements MailSinkView<'remote'> {
  /** @internal use `remote.view()` */
  constructor(
    private readonly sink: RemoteViewSource,
    readonly scope: ViewScope,
    private start: Mark,
  ) {
    super(sink);
  }

  /** The mark this view counts from. */
  get mark(): Mark {
    return this.start;
  }

  /** Accepted deliveries in this view. */
  async accepted(): Promise<number> {
    if (this.scope.to === undefined && this.scope.from === undefined) return this.sink.acceptedSince(this.start);
    return (await this.deliveries()).length;
  }

  /** Kept delivery records in this view, oldest first. */
  async deliveries(filter: DeliveryFilter | DeliveryPredicate = {}): Promise<DeliveryRecord[]> {
    if (typeof filter === 'function') {
      const inScope = compileFilter({ ...this.scopeFilter(), includeRejected: true });
      return (await this.sink.deliveriesAndMark((r) => inScope(r) && filter(r), this.scopeFilter())).deliveries;
    }
    return this.sink.deliveries({ ...filter, ...this.scopeFilter() });
  }

  /** Kept messages (capture `full`) in this view. */
  messages(filter: DeliveryFilter | DeliveryPredicate = {}): Promise<CapturedMessage[]> {
    if (typeof filter === 'function') {
      const inScope = compileFilter(this.scopeFilter());
      return this.sink.messages((r) => inScope(r) && filter(r));
    }
    return this.sink.messages({ ...filter, ...this.scopeFilter() });
  }

  /** Like `sink.waitFor`, counting only this view's deliveries. */
  waitFor(target: WaitTarget, options: WaitOptions = {}): Promise<DeliveryRecord[]> {
    return this.sink.wait(target, { ...options, since: options.since ?? this.start }, this.scopeFilter());
  }

  /** Starts counting afresh from now. */
  async reset(): Promise<void> {
    this.start = await this.sink.mark();
  }

  /** What the sink saw, for failure messages. */
  describe(): Promise<string> {
    return this.sink.describe();
  }

  /** The mark as a URL token (`seq:acceptedTotal`), e.g. for `mailhole wait --since`. */
  get token(): string {
    return markToken(this.start);
  }

  private scopeFilter(): DeliveryFilter {
    const f: DeliveryFilter = { since: this.start };
    if (this.scope.to !== undefined) f.to = this.scope.to;
    if (this.scope.from !== undefined) f.from = this.scope.from;
    return f;
  }
}
