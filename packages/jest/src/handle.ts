import type {
  ClientTlsOverrides,
  ClientTlsSettings,
  DeliveryFilter,
  DeliveryPredicate,
  DeliveryRecord,
  Sink,
  SinkStats,
  SinkView,
  WaitOptions,
  WaitTarget,
} from '@mailhole/core';

/**
 * A sink as a test sees it: the address to send to, and counts, records and waits that cover only
 * the current test (they start at 0 in every test). The whole sink stays reachable as `sink`.
 *
 * @example await send(mailhole.port); expect(mailhole.accepted).toBe(1);
 */
export interface MailholeHandle {
  /** Bound address, e.g. `127.0.0.1`. */
  readonly host: string;
  /** Plain-SMTP port to point the code under test at. */
  readonly port: number;
  /** `smtp://host:port`. */
  readonly url: string;
  /** Implicit-TLS port, with `tls: 'implicit' | 'both'`. */
  readonly tlsPort: number | undefined;
  /** `smtps://host:tlsPort`, with `tls: 'implicit' | 'both'`. */
  readonly tlsUrl: string | undefined;
  /** PEM of the CA that signed the server certificate, with TLS on. */
  readonly ca: string | undefined;
  /** Accepted deliveries of the current test. */
  readonly accepted: number;
  /** Delivery records of the current test, oldest first. */
  deliveries(filter?: DeliveryFilter | DeliveryPredicate): DeliveryRecord[];
  /** Like `sink.waitFor`, counting only the current test's deliveries. */
  waitFor(target: WaitTarget, options?: WaitOptions): Promise<DeliveryRecord[]>;
  /** Every counter of the whole sink (all tests of its scope). */
  stats(): SinkStats;
  /** What the sink saw, for failure messages. */
  describe(): string;
  /** Starts counting the current test afresh from now. */
  reset(): void;
  /** TLS settings for a client that verifies the sink (nodemailer's `tls` option); pass TLS versions to change them. */
  clientTls(overrides?: ClientTlsOverrides): ClientTlsSettings;
  /** Writes the CA (PEM) to `path` for non-Node clients; resolves to the absolute path. */
  writeCa(path: string): Promise<string>;
  /** The whole sink, for events (`sink.on('delivery', …)`) and counts across tests. */
  readonly sink: Sink;
}

/** The sink and per-test view a handle forwards to right now. */
export interface Current {
  sink: Sink;
  view: SinkView;
}

/**
 * Brings values into the realm the test code runs in. The test environment lives outside Jest's
 * sandbox, and arrays or errors made there fail `instanceof Array` / `toStrictEqual` inside it.
 */
export interface Realm {
  value<T>(value: T): T;
  error(error: unknown): Error;
}

/** For handles built inside the sandbox: everything is already in the test's realm. */
export const sameRealm: Realm = {
  value: (value) => value,
  error: (error) => (error instanceof Error ? error : new Error(String(error))),
};

/** A realm adapter for the sandbox whose global is `global` (its own JSON and Error). */
export function sandboxRealm(global: { JSON: JSON; Error: ErrorConstructor }): Realm {
  return {
    value: (value) => (value === undefined ? value : global.JSON.parse(JSON.stringify(value))),
    error: (error) => {
      const original = error as { name?: string; message?: string; stack?: string } | undefined;
      const copy = new global.Error(original?.message ?? String(error));
      if (original?.name !== undefined) copy.name = original.name;
      if (original?.stack !== undefined) copy.stack = original.stack;
      for (const key of ['expected', 'received'] as const) {
        const v = (error as Record<string, unknown> | undefined)?.[key];
        if (typeof v === 'number') Object.defineProperty(copy, key, { value: v, enumerable: true });
      }
      return copy;
    },
  };
}

/**
 * A handle whose members forward to whatever `current()` returns when they are read, so one
 * object works across tests while the sink or view behind it changes.
 */
export function createHandle(current: () => Current, realm: Realm): MailholeHandle {
  const sink = (): Sink => current().sink;
  const view = (): SinkView => current().view;
  // Plain functions and getters only: the object may be handed across realms.
  return Object.freeze({
    get host() {
      return sink().host;
    },
    get port() {
      return sink().port;
    },
    get url() {
      return sink().url;
    },
    get tlsPort() {
      return sink().tlsPort;
    },
    get tlsUrl() {
      return sink().tlsUrl;
    },
    get ca() {
      return sink().ca;
    },
    get accepted() {
      return view().accepted;
    },
    deliveries(filter?: DeliveryFilter | DeliveryPredicate) {
      try {
        return realm.value(view().deliveries(filter));
      } catch (error) {
        throw realm.error(error);
      }
    },
    waitFor(target: WaitTarget, options?: WaitOptions) {
      return view()
        .waitFor(target, options)
        .then(
          (records) => realm.value(records),
          (error: unknown) => Promise.reject(realm.error(error)),
        );
    },
    stats() {
      return realm.value(sink().stats());
    },
    describe() {
      return view().describe();
    },
    reset() {
      view().reset();
    },
    clientTls(overrides?: ClientTlsOverrides) {
      try {
        // The context is a native handle: it cannot be copied into the test's realm, and need not be.
        const { secureContext, ...settings } = sink().clientTls(overrides);
        const copy = realm.value(settings) as ClientTlsSettings;
        copy.secureContext = secureContext;
        return copy;
      } catch (error) {
        throw realm.error(error);
      }
    },
    writeCa(path: string) {
      return sink()
        .writeCa(path)
        .catch((error: unknown) => Promise.reject(realm.error(error)));
    },
    get sink() {
      return sink();
    },
  });
}
