import type { SinkStats } from '../record/recorder.js';

interface Metric {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
}

/** Prometheus names of the counters; a counter added to SinkStats later still appears, with a generic name. */
const METRICS: Record<string, Metric> = {
  accepted: {
    name: 'accepted_total',
    type: 'counter',
    help: 'Accepted deliveries (final reply to DATA or BDAT LAST was 2xx).',
  },
  rejected: { name: 'rejected_total', type: 'counter', help: 'Messages whose final reply was 4xx or 5xx.' },
  connections: { name: 'connections_total', type: 'counter', help: 'Connections accepted, refused ones included.' },
  activeConnections: { name: 'active_connections', type: 'gauge', help: 'Connections open now.' },
  refusedConnections: {
    name: 'refused_connections_total',
    type: 'counter',
    help: 'Connections turned away with 421 because of maxConnections.',
  },
  transactions: {
    name: 'transactions_total',
    type: 'counter',
    help: 'Mail transactions started (MAIL FROM accepted).',
  },
  recipientsAccepted: { name: 'recipients_accepted_total', type: 'counter', help: 'Envelope recipients accepted.' },
  recipientsRejected: { name: 'recipients_rejected_total', type: 'counter', help: 'Envelope recipients refused.' },
  acceptedBytes: { name: 'accepted_bytes_total', type: 'counter', help: 'Message octets of accepted deliveries.' },
  receivedBytes: {
    name: 'received_bytes_total',
    type: 'counter',
    help: 'Octets read from clients, commands included.',
  },
  faults: { name: 'faults_total', type: 'counter', help: 'Fault rules that fired.' },
  evictedRecords: {
    name: 'evicted_records_total',
    type: 'counter',
    help: 'Delivery records dropped to stay within maxRecords.',
  },
  capturedMessages: { name: 'captured_messages', type: 'gauge', help: 'Messages whose content is kept now.' },
  capturedBytes: { name: 'captured_bytes', type: 'gauge', help: 'Octets of message content kept now.' },
  evictedMessages: {
    name: 'evicted_messages_total',
    type: 'counter',
    help: 'Captured messages dropped to stay within maxRecords or maxCaptureBytes.',
  },
  evictedBytes: { name: 'evicted_bytes_total', type: 'counter', help: 'Octets of captured messages dropped.' },
  uncapturedMessages: {
    name: 'uncaptured_messages_total',
    type: 'counter',
    help: 'Accepted messages whose content was too large to keep.',
  },
};

/**
 * The counters in the Prometheus text exposition format (version 0.0.4), every sample labelled
 * with `sink` so one monitoring stack can watch many sinks.
 */
export function prometheusText(stats: SinkStats, sink: string): string {
  const label = `{sink="${sink.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"}`;
  const lines: string[] = [];
  for (const [key, value] of Object.entries(stats)) {
    if (typeof value !== 'number') continue;
    const metric = METRICS[key] ?? {
      name: `${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`,
      type: 'gauge',
      help: `mailhole counter ${key}.`,
    };
    const name = `mailhole_${metric.name}`;
    lines.push(`# HELP ${name} ${metric.help}`, `# TYPE ${name} ${metric.type}`, `${name}${label} ${value}`);
  }
  return `${lines.join('\n')}\n`;
}
