import type { FaultRules } from '../behaviour/faults.js';
import type { Mode } from '../behaviour/modes.js';
import type { CapturedMessage } from '../record/parsed.js';
import type { DeliveryFilter, Mark, SinkStats, WaitOptions } from '../record/recorder.js';
import type { DeliveryRecord } from '../record/records.js';
import type { SessionTranscriptRecord } from '../record/transcript.js';
import type { CaptureLevel, ResolvedOptions, TlsMode } from '../server/options.js';
import type { Sink } from '../server/sink.js';

/** What `GET /api/info` answers: where the sink listens and the options that shape what it keeps. */
export interface SinkInfo {
  host: string;
  /** Plain SMTP (or LMTP) port. */
  port: number;
  /** `smtp://host:port` */
  url: string;
  /** Implicit-TLS port, when there is one. */
  tlsPort?: number;
  tlsUrl?: string;
  /** PEM of the CA that signed the server certificate, with TLS on. */
  ca?: string;
  /** With TLS on: the name a client verifies the certificate against (what `clientTls()` gives as `servername`). */
  servername?: string;
  /** Seed of every random choice (mode `random`, delay ranges, fault probabilities): pass it as `seed` to repeat a run. */
  seed: number;
  /** Base URL of the control API that answered. */
  apiUrl: string;
  options: {
    tls: TlsMode;
    requireTls: boolean;
    minTlsVersion: 'TLSv1.2' | 'TLSv1.3';
    lenient: boolean;
    /** Sink-wide mode (a listener may have its own). */
    mode: Mode;
    acceptRatio: number;
    headerSwitches: boolean;
    /** Whether AUTH is offered, and whether MAIL needs it. */
    auth: 'none' | 'offered' | 'required';
    lmtp: boolean;
    capture: CaptureLevel;
    maxMessageSize: number;
    maxRecipients: number;
    maxConnections: number;
    idleTimeout: number;
    recordTimeout: number;
    maxSessionTime: number;
    maxConnectionsPerAddress: number;
    maxInvalidCommands: number;
    maxRejectedRecipients: number;
    maxRecords: number;
    maxCaptureBytes: number;
  };
  /** Processes sharing the SMTP port (`mailhole serve --workers N`); 1 otherwise. */
  workers: number;
}

/**
 * What the control API serves: an in-process sink, or the counters of several worker processes.
 * Methods that cannot be answered throw an `Unavailable` saying why.
 */
export interface ControlTarget {
  info(): Omit<SinkInfo, 'apiUrl'>;
  stats(): SinkStats;
  mark(): Mark;
  reset(): void | Promise<void>;
  describe(): string;
  /** Why delivery records cannot be queried here, or `undefined` when they can. */
  recordsUnavailable(): string | undefined;
  /** Why message content cannot be read here, or `undefined` when it can. */
  messagesUnavailable(): string | undefined;
  deliveries(filter: DeliveryFilter): DeliveryRecord[];
  messages(filter: DeliveryFilter): CapturedMessage[];
  message(id: string): CapturedMessage | undefined;
  waitFor(target: number | DeliveryFilter, options: WaitOptions): Promise<DeliveryRecord[]>;
  /** The sink's fault rules (`/api/faults`); absent where rules cannot be shared (worker pools). */
  faults?(): FaultRules;
  /** Switches the sink-wide mode (`POST /api/mode`); absent where it cannot be shared (worker pools). */
  setMode?(mode: Mode, acceptRatio?: number): void;
  /** Why session transcripts cannot be read here, or `undefined` when they can. */
  transcriptsUnavailable?(): string | undefined;
  /** A session's transcript by connection id (`GET /api/sessions/:id`). */
  transcript?(connectionId: number): SessionTranscriptRecord | undefined;
  /** Calls `listener` with each finished transaction's record until the returned function is called (the inbox's live feed). */
  subscribe?(listener: (record: DeliveryRecord) => void): () => void;
}

/** @internal the options `/api/info` shows, from resolved options (an in-process sink or a worker pool's). */
export function infoOptions(o: Readonly<ResolvedOptions>): SinkInfo['options'] {
  return {
    tls: o.tls,
    requireTls: o.requireTls,
    minTlsVersion: o.minTlsVersion,
    lenient: o.lenient,
    mode: o.behaviour.base.mode,
    acceptRatio: o.behaviour.base.acceptRatio,
    headerSwitches: o.behaviour.headerSwitches,
    auth: o.auth === undefined ? 'none' : o.auth.required ? 'required' : 'offered',
    lmtp: o.lmtp,
    capture: o.capture,
    maxMessageSize: o.maxMessageSize,
    maxRecipients: o.maxRecipients,
    maxConnections: o.maxConnections,
    idleTimeout: o.idleTimeout,
    recordTimeout: o.recordTimeout,
    maxSessionTime: o.maxSessionTime,
    maxConnectionsPerAddress: o.maxConnectionsPerAddress,
    maxInvalidCommands: o.maxInvalidCommands,
    maxRejectedRecipients: o.maxRejectedRecipients,
    maxRecords: o.maxRecords,
    maxCaptureBytes: o.maxCaptureBytes,
  };
}

/** The control target of an in-process sink. */
export function sinkTarget(sink: Sink): ControlTarget {
  const o = sink.options;
  return {
    info: () => {
      const info: Omit<SinkInfo, 'apiUrl'> = {
        host: sink.host,
        port: sink.port,
        url: sink.url,
        seed: sink.seed,
        options: infoOptions(o),
        workers: 1,
      };
      if (sink.tlsPort !== undefined) info.tlsPort = sink.tlsPort;
      if (sink.tlsUrl !== undefined) info.tlsUrl = sink.tlsUrl;
      if (sink.ca !== undefined) {
        info.ca = sink.ca;
        // The in-process clientTls() is the one truth: a remote client rebuilds it from these fields.
        info.servername = sink.clientTls().servername;
      }
      return info;
    },
    stats: () => sink.stats(),
    mark: () => sink.mark(),
    reset: () => sink.reset(),
    describe: () => sink.describe(),
    recordsUnavailable: () =>
      sink.recorder.keepsRecords
        ? undefined
        : 'this sink keeps no delivery records (capture "count" or maxRecords 0): start it with capture "envelope" or "full"',
    messagesUnavailable: () =>
      o.capture === 'full' && o.maxRecords > 0
        ? undefined
        : `this sink keeps no message content (capture "${o.capture}"): start it with capture "full" (mailhole serve --capture full)`,
    deliveries: (filter) => sink.deliveries(filter),
    messages: (filter) => sink.messages(filter),
    message: (id) => sink.message(id),
    waitFor: (target, options) => sink.waitFor(target, options),
    faults: () => sink.faults,
    setMode: (mode, acceptRatio) => sink.setMode(mode, acceptRatio),
    transcriptsUnavailable: () =>
      sink.transcripts === undefined
        ? 'this sink keeps no session transcripts: start it with transcripts: true (on by default with api)'
        : undefined,
    transcript: (connectionId) => sink.transcript(connectionId),
    subscribe: (listener) => {
      sink.on('delivery', listener);
      return () => sink.off('delivery', listener);
    },
  };
}
