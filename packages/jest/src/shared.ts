import {
  type ClientTlsOverrides,
  type ClientTlsSettings,
  connectSink,
  type DeliveryFilter,
  type DeliveryPredicate,
  type DeliveryRecord,
  type Mark,
  type RemoteSink,
  type RemoteSinkView,
  type SinkStats,
  type ViewScope,
  type WaitOptions,
  type WaitTarget,
} from '@mailhole/core';
import { lifecycle } from './lifecycle.js';

let connecting: Promise<RemoteSink> | undefined;

/**
 * The run's shared sink (started by `@mailhole/jest/global-setup`), reached through its control
 * API; connected once per test file. Counts here cover the whole run, every worker included.
 *
 * @example const sink = await sharedSink(); console.log(await sink.stats());
 */
export function sharedSink(): Promise<RemoteSink> {
  connecting ??= connect().catch((error: unknown) => {
    connecting = undefined;
    throw error;
  });
  return connecting;
}

async function connect(): Promise<RemoteSink> {
  const url = process.env.MAILHOLE_API_URL;
  if (url === undefined || url === '') {
    throw new Error(
      "@mailhole/jest: no shared sink: MAILHOLE_API_URL is not set. Add globalSetup: '@mailhole/jest/global-setup' and " +
        "globalTeardown: '@mailhole/jest/global-teardown' to the Jest config, or run `mailhole serve --api-port N` and set MAILHOLE_API_URL.",
    );
  }
  return connectSink(url);
}

/**
 * A window on the shared sink from now on, optionally only mail to/from an address. Concurrent
 * tests (other workers) share the sink: scope by recipient to count only your own mail.
 *
 * @example const mine = await sharedMailhole({ to: 'ada@example.test' }); await signUp('ada@example.test'); await mine.waitFor(1);
 */
export async function sharedMailhole(scope: ViewScope = {}): Promise<RemoteSinkView> {
  return (await sharedSink()).view(scope);
}

/** A handle on the shared sink whose counts cover the current test (every read is async). */
export interface SharedMailholeHandle {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly tlsPort: number | undefined;
  readonly tlsUrl: string | undefined;
  readonly ca: string | undefined;
  /** Base URL of the shared sink's control API. */
  readonly apiUrl: string;
  /** Accepted deliveries of the current test (in scope). */
  accepted(): Promise<number>;
  /** Delivery records of the current test (in scope), oldest first. */
  deliveries(filter?: DeliveryFilter | DeliveryPredicate): Promise<DeliveryRecord[]>;
  /** Waits for the current test's deliveries (in scope); rejects after `timeout` ms saying what arrived. */
  waitFor(target: WaitTarget, options?: WaitOptions): Promise<DeliveryRecord[]>;
  /** Every counter of the whole shared sink. */
  stats(): Promise<SinkStats>;
  /** What the shared sink saw, for failure messages. */
  describe(): Promise<string>;
  /** Starts counting the current test afresh from now. */
  reset(): Promise<void>;
  /** The mark the current test counts from. */
  readonly mark: Mark;
  /** TLS settings for a client that verifies the shared sink; pass TLS versions to change them. */
  clientTls(overrides?: ClientTlsOverrides): ClientTlsSettings;
  /** The current test's view. */
  readonly view: RemoteSinkView;
  /** The whole shared sink. */
  readonly sink: RemoteSink;
}

/**
 * Registers a beforeEach that opens a window on the shared sink for each test, and returns a
 * handle on it. Pass `{ to }` when tests in other workers send at the same time.
 *
 * @example const mail = useSharedMailhole({ to: 'ada@example.test' }); test('…', async () => { await signUp(); await mail.waitFor(1); });
 */
export function useSharedMailhole(scope: ViewScope = {}): SharedMailholeHandle {
  const hooks = lifecycle('useSharedMailhole');
  let sink: RemoteSink | undefined;
  let view: RemoteSinkView | undefined;
  hooks.beforeAll(async () => {
    sink = await sharedSink();
  });
  hooks.beforeEach(async () => {
    view = await (sink ?? (await sharedSink())).view(scope);
  });
  hooks.afterAll(() => {
    view = undefined;
  });

  const current = (): { sink: RemoteSink; view: RemoteSinkView } => {
    if (sink === undefined || view === undefined) {
      throw new Error(
        'useSharedMailhole: the shared sink is reached in beforeAll/beforeEach of the file or describe block that ' +
          'called useSharedMailhole(); read the handle inside a test or a later hook.',
      );
    }
    return { sink, view };
  };
  return Object.freeze({
    get host() {
      return current().sink.host;
    },
    get port() {
      return current().sink.port;
    },
    get url() {
      return current().sink.url;
    },
    get tlsPort() {
      return current().sink.tlsPort;
    },
    get tlsUrl() {
      return current().sink.tlsUrl;
    },
    get ca() {
      return current().sink.ca;
    },
    get apiUrl() {
      return current().sink.apiUrl;
    },
    accepted: () => current().view.accepted(),
    deliveries: (filter?: DeliveryFilter | DeliveryPredicate) => current().view.deliveries(filter),
    waitFor: (target: WaitTarget, options?: WaitOptions) => current().view.waitFor(target, options),
    stats: () => current().sink.stats(),
    describe: () => current().view.describe(),
    reset: () => current().view.reset(),
    get mark() {
      return current().view.mark;
    },
    clientTls: (overrides?: ClientTlsOverrides) => current().sink.clientTls(overrides),
    get view() {
      return current().view;
    },
    get sink() {
      return current().sink;
    },
  });
}
