import {
  compileFilter,
  type DeliveryFilter,
  type DeliveryPredicate,
  type Mark,
  type Recorder,
  type WaitOptions,
  type WaitTarget,
} from '../record/recorder.js';
import type { DeliveryRecord } from '../record/records.js';
import type { ClientTlsOverrides, ClientTlsSettings } from '../tls/client-settings.js';
import type { MailSinkView, SinkAddress, ViewScope } from './mail-sink.js';

/**
 * The address members of a view, forwarded from the sink behind it: written once for the
 * in-process `SinkView` and the remote `RemoteSinkView`.
 */
export abstract class SinkAddressOf implements SinkAddress {
  constructor(private readonly address: SinkAddress) {}

  get host(): string {
    return this.address.host;
  }
  get port(): number {
    return this.address.port;
  }
  get url(): string {
    return this.address.url;
  }
  get tlsPort(): number | undefined {
    return this.address.tlsPort;
  }
  get ca(): string | undefined {
    return this.address.ca;
  }

  /** TLS settings for a client that verifies the sink (nodemailer's `tls` option); throws without TLS. */
  clientTls(overrides?: ClientTlsOverrides): ClientTlsSettings {
    if (this.address.clientTls === undefined) throw new Error('view.clientTls(): this sink has no TLS');
    return this.address.clientTls(overrides);
  }
}

/**
 * A per-test window on a sink: `accepted`, `deliveries()` and `waitFor()` count only what came
 * after the view's mark (and matches its scope). `reset()` moves the mark to now.
 *
 * @example const view = sink.view(); await send(); expect(view.accepted).toBe(1);
 */
export class SinkView extends SinkAddressOf implements MailSinkView<'in-process'> {
  private start: Mark;

  /** @internal use `sink.view()` */
  constructor(
    private readonly recorder: Recorder,
    address: SinkAddress,
    readonly scope: ViewScope = {},
  ) {
    super(address);
    this.start = recorder.mark();
    if ((scope.to !== undefined || scope.from !== undefined) && !recorder.keepsRecords) {
      throw new TypeError(
        'sink.view({ to, from }) needs delivery records: start the sink with capture "envelope" or "full", not "count"',
      );
    }
  }

  /** The mark this view counts from. */
  get mark(): Mark {
    return this.start;
  }

  /** Accepted deliveries in this view. */
  get accepted(): number {
    if (this.scope.to === undefined && this.scope.from === undefined) return this.recorder.acceptedSince(this.start);
    return this.deliveries().length;
  }

  /** Kept delivery records in this view, oldest first. */
  deliveries(filter: DeliveryFilter | DeliveryPredicate = {}): DeliveryRecord[] {
    // The view's scope and the caller's filter both apply: a view for ada asked for grace's mail sees none.
    const inScope = compileFilter({ ...this.scopeFilter(), includeRejected: true });
    if (typeof filter === 'function') return this.recorder.select((r) => r.accepted && inScope(r) && filter(r));
    const wanted = compileFilter(filter);
    return this.recorder.select((r) => inScope(r) && wanted(r));
  }

  /** Like `sink.waitFor`, counting only this view's deliveries. */
  waitFor(target: WaitTarget, options: WaitOptions = {}): Promise<DeliveryRecord[]> {
    const scoped = this.scope.to !== undefined || this.scope.from !== undefined;
    if (typeof target === 'number' && scoped) {
      return this.recorder.waitFor(this.scopeFilter(), { ...options, count: target, since: this.start });
    }
    const inScope = compileFilter(this.scopeFilter());
    if (typeof target === 'object') {
      const wanted = compileFilter(target);
      return this.recorder.waitFor((r) => inScope(r) && wanted(r), { ...options, since: this.start });
    }
    if (typeof target === 'function') return this.recorder.waitFor((r) => inScope(r) && target(r), options);
    return this.recorder.waitFor(target, { ...options, since: this.start });
  }

  /** Starts counting afresh from now. */
  reset(): void {
    this.start = this.recorder.mark();
  }

  /** What the sink saw, for failure messages. */
  describe(): string {
    return this.recorder.describe({ since: this.start });
  }

  private scopeFilter(): DeliveryFilter {
    const f: DeliveryFilter = { since: this.start };
    if (this.scope.to !== undefined) f.to = this.scope.to;
    if (this.scope.from !== undefined) f.from = this.scope.from;
    return f;
  }
}
