import { Buffer } from 'node:buffer';
import type { DeliveryRecord } from '../record/records.js';

/**
 * How the control API keeps list answers bounded whatever the sink holds: a page of at most
 * `API_PAGE_LIMIT` records (follow `next` for the rest), and each record in a list cut to
 * `API_LIST_RECORD_BYTES` of JSON (marked `truncated`; `GET /api/deliveries/:id` has it whole).
 */

/** Records in one list answer at most (`/api/deliveries`, `/api/messages`): the rest come with `after`. */
export const API_PAGE_LIMIT = 1000;
/** Octets of JSON one record may take in a list answer; a longer one has its lists cut and `truncated: true`. */
export const API_LIST_RECORD_BYTES = 64 * 1024;

/** One page of `all` (oldest first) and the `after` value of the next page, when there is one. */
export interface Page<T> {
  items: T[];
  next?: number;
}

/**
 * A page of `all`, which is ordered by `seq`. With `after`, the oldest `limit` items past that seq;
 * with an explicit `newest` limit and no `after`, the newest ones (the `limit` of earlier versions).
 */
export function pageOf<T>(
  all: readonly T[],
  seqOf: (item: T) => number,
  options: { after: number | undefined; limit: number; newest: boolean },
): Page<T> {
  if (options.after === undefined && options.newest) {
    return { items: options.limit >= all.length ? [...all] : all.slice(all.length - options.limit) };
  }
  const after = options.after ?? 0;
  let start = 0;
  while (start < all.length && seqOf(all[start] as T) <= after) start++;
  const items = all.slice(start, start + options.limit);
  const page: Page<T> = { items };
  const last = items.at(-1);
  if (start + options.limit < all.length && last !== undefined) page.next = seqOf(last);
  return page;
}

/** The record as a list shows it: whole when its JSON fits `cap`, else with its lists cut to fit. */
export function listRecord(record: DeliveryRecord, cap = API_LIST_RECORD_BYTES): DeliveryRecord {
  if (jsonBytes(record) <= cap) return record;
  let keep = Math.max(
    record.recipients.length,
    record.rejectedRecipients.length,
    record.dsn?.length ?? 0,
    record.lmtpReplies?.length ?? 0,
  );
  for (;;) {
    keep = Math.floor(keep / 2);
    const cut = cutRecord(record, keep);
    if (keep === 0 || jsonBytes(cut) <= cap) return cut;
  }
}

function cutRecord(record: DeliveryRecord, keep: number): DeliveryRecord {
  const { headers: _headers, ...rest } = record;
  const cut: DeliveryRecord = {
    ...rest,
    recipients: record.recipients.slice(0, keep),
    rejectedRecipients: record.rejectedRecipients.slice(0, keep),
    truncated: true,
  };
  if (record.dsn !== undefined) cut.dsn = record.dsn.slice(0, keep);
  if (record.lmtpReplies !== undefined) cut.lmtpReplies = record.lmtpReplies.slice(0, keep);
  return cut;
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}
