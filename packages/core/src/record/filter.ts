import type { DeliveryRecord } from './records.js';

// Selecting deliveries: marks in a sink's history and filters, the same in-process and remotely.

/** A point in a sink's history: count or wait for what came after it (per-test accounting). */
export interface Mark {
  /** Sequence number of the last delivery record when the mark was taken. */
  seq: number;
  /** Accepted deliveries since the sink started (never reset) when the mark was taken. */
  acceptedTotal: number;
}

/** Selects deliveries; every given field must match. Works the same in-process and remotely. */
export interface DeliveryFilter {
  /** An envelope recipient, compared case-insensitively. */
  to?: string;
  /** The envelope sender, compared case-insensitively. */
  from?: string;
  /** Substring of the subject (needs the header section: capture `full` or header switches on). */
  subject?: string;
  /** A header that must be present, optionally with a value substring: `{ name: 'x-test', value: '42' }`. */
  header?: { name: string; value?: string };
  /** Only deliveries after this mark. */
  since?: Mark;
  /** Include rejected deliveries too (default: accepted only). */
  includeRejected?: boolean;
}

export type DeliveryPredicate = (record: DeliveryRecord) => boolean;

/** A filter as a test of one record. */
export function compileFilter(filter: DeliveryFilter): (r: DeliveryRecord) => boolean {
  const to = filter.to?.toLowerCase();
  const from = filter.from?.toLowerCase();
  const subject = filter.subject;
  const header = filter.header ? { name: filter.header.name.toLowerCase(), value: filter.header.value } : undefined;
  const sinceSeq = filter.since?.seq;
  const includeRejected = filter.includeRejected === true;
  return (r) => {
    if (!includeRejected && !r.accepted) return false;
    if (sinceSeq !== undefined && r.seq <= sinceSeq) return false;
    if (to !== undefined && !r.recipients.some((a) => a.toLowerCase() === to)) return false;
    if (from !== undefined && r.sender.toLowerCase() !== from) return false;
    if (subject !== undefined && !(r.subject ?? '').includes(subject)) return false;
    if (header !== undefined) {
      const values = r.headers?.[header.name];
      if (values === undefined) return false;
      if (header.value !== undefined && !values.some((v) => v.includes(header.value as string))) return false;
    }
    return true;
  };
}
