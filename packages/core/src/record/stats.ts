// The counters of a sink: what each one counts, all starting at 0.

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

/** Every counter at 0. */
export function zeroStats(): SinkStats {
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
