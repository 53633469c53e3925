import type { DeliveryRecord } from '../../record/records.js';

// The inbox list: what a row shows of a delivery record, and which records a query matches, a page at a time.

/** How a finished transaction ended, as the inbox lists it. */
export type InboxOutcome = 'accepted' | 'deferred' | 'bounced';

/** One row of the inbox list: what the list shows of a delivery record. */
export interface InboxRow {
  seq: number;
  id: string;
  time: number;
  from: string;
  to: string[];
  subject?: string;
  size: number;
  outcome: InboxOutcome;
  /** The final reply, e.g. `250 2.0.0 Message accepted as …`. */
  reply: string;
  connectionId: number;
  /** Recipients refused at RCPT. */
  refused: number;
}

/** One page of `GET /api/inbox/deliveries`, newest first. */
export interface InboxPage {
  /** Records matching the filters (all of them, not only this page). */
  total: number;
  offset: number;
  items: InboxRow[];
}

/** The outcome a final reply means: 2xx accepted, 4xx deferred (try again later), 5xx bounced. */
export function outcomeOf(record: Pick<DeliveryRecord, 'accepted' | 'reply'>): InboxOutcome {
  if (record.accepted) return 'accepted';
  return record.reply.code >= 400 && record.reply.code < 500 ? 'deferred' : 'bounced';
}

/** The list row of a record. */
export function inboxRow(record: DeliveryRecord): InboxRow {
  const reply = record.reply;
  const row: InboxRow = {
    seq: record.seq,
    id: record.id,
    time: record.time,
    from: record.sender,
    to: record.recipients,
    size: record.size,
    outcome: outcomeOf(record),
    reply: `${reply.code}${reply.enhanced ? ` ${reply.enhanced}` : ''} ${reply.text.split('\n')[0]}`,
    connectionId: record.connectionId,
    refused: record.rejectedRecipients.length,
  };
  if (record.subject !== undefined) row.subject = record.subject;
  return row;
}

/** Filters of the inbox list: free text, outcome, and address/subject substrings. */
export interface InboxQuery {
  q?: string;
  outcome?: InboxOutcome;
  to?: string;
  from?: string;
  subject?: string;
}

/** A predicate for the query: every given filter must match, case-insensitively. */
export function inboxMatcher(query: InboxQuery): (record: DeliveryRecord) => boolean {
  const lower = (text: string | undefined) => (text === undefined || text === '' ? undefined : text.toLowerCase());
  const q = lower(query.q);
  const to = lower(query.to);
  const from = lower(query.from);
  const subject = lower(query.subject);
  const outcome = query.outcome;
  return (r) => {
    if (outcome !== undefined && outcomeOf(r) !== outcome) return false;
    if (from !== undefined && !r.sender.toLowerCase().includes(from)) return false;
    if (to !== undefined && !r.recipients.some((a) => a.toLowerCase().includes(to))) return false;
    if (subject !== undefined && !(r.subject ?? '').toLowerCase().includes(subject)) return false;
    if (q !== undefined) {
      const hit =
        r.sender.toLowerCase().includes(q) ||
        r.recipients.some((a) => a.toLowerCase().includes(q)) ||
        (r.subject ?? '').toLowerCase().includes(q) ||
        r.id.toLowerCase().includes(q);
      if (!hit) return false;
    }
    return true;
  };
}

/**
 * One page of the records matching `query`, newest first. Only the page is turned into rows, so a
 * page of 10,000 kept records costs one pass of the filter.
 */
export function inboxPage(
  records: readonly DeliveryRecord[],
  query: InboxQuery,
  offset: number,
  limit: number,
): InboxPage {
  const match = inboxMatcher(query);
  const unfiltered = Object.values(query).every((v) => v === undefined || v === '');
  if (unfiltered) {
    const total = records.length;
    const items: InboxRow[] = [];
    for (let i = total - 1 - offset; i >= 0 && items.length < limit; i--)
      items.push(inboxRow(records[i] as DeliveryRecord));
    return { total, offset, items };
  }
  let total = 0;
  const items: InboxRow[] = [];
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i] as DeliveryRecord;
    if (!match(record)) continue;
    if (total >= offset && items.length < limit) items.push(inboxRow(record));
    total++;
  }
  return { total, offset, items };
}
