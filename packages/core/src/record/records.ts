import { decodeEncodedWords, parseHeaderSection } from '../protocol/header-section.js';
import type { Reply } from '../protocol/reply.js';
import { replyToString } from '../protocol/reply.js';
import type { BodyType, Delivery, FiredFault, TlsInfo } from '../protocol/types.js';

/** A reply as plain JSON, the same in-process and through the control API. */
export interface ReplyRecord {
  code: number;
  enhanced?: string;
  /** The reply text (lines joined with a newline). */
  text: string;
}

/**
 * What the sink remembers of one finished transaction (accepted or rejected): the envelope,
 * never the content unless capture is `full`. Plain JSON, identical through the control API.
 */
export interface DeliveryRecord {
  /** Position in the sink's history, from 1; marks and `since` filters count on it. */
  seq: number;
  /** Sink-unique id, also quoted in the 250 reply (`Message accepted as <id>`). */
  id: string;
  accepted: boolean;
  /** Envelope sender (`MAIL FROM`), `''` for the null sender. */
  sender: string;
  /** Accepted envelope recipients (`RCPT TO`), BCC included. */
  recipients: string[];
  /** Refused recipients with their replies: the first `maxRejectedRecipients` of the transaction. */
  rejectedRecipients: Array<{ address: string; reply: ReplyRecord }>;
  /** Refused recipients beyond `maxRejectedRecipients` (present only when some were left out). */
  rejectedRecipientsOmitted?: number;
  /** Message octets after dot-unstuffing. */
  size: number;
  body: BodyType;
  smtputf8: boolean;
  envid?: string;
  ret?: 'FULL' | 'HDRS';
  /** RFC 3461 NOTIFY/ORCPT per recipient, when the client gave them. */
  dsn?: Array<{ address: string; notify?: string[]; orcpt?: string }>;
  /** The final reply the client got (for LMTP, the last recipient's). */
  reply: ReplyRecord;
  lmtpReplies?: Array<{ address: string; reply: ReplyRecord }>;
  via: 'DATA' | 'BDAT';
  helo: string | undefined;
  tls: TlsInfo | undefined;
  /** The authenticated user, when the session used AUTH. */
  user: string | undefined;
  client: { address: string; port: number };
  listener: string;
  connectionId: number;
  /** Milliseconds since the epoch when the final reply was sent. */
  time: number;
  /** Faults that fired during the transaction: the first 100 (every firing is in `stats().faults` and `faults.fired()`). */
  faults: FiredFault[];
  /** Message header values by lower-cased name, when the header section was kept. */
  headers?: Record<string, string[]>;
  /** The subject, when the header section was kept. */
  subject?: string;
  /**
   * Only in control API list answers: the record was longer than the list limit, so its lists were
   * cut and its headers left out. `GET /api/deliveries/:id` (and the remote client) give it whole.
   */
  truncated?: true;
}

export function toReplyRecord(reply: Reply): ReplyRecord {
  const text = typeof reply.text === 'string' ? reply.text : reply.text.join('\n');
  return reply.enhanced === undefined
    ? { code: reply.code, text }
    : { code: reply.code, enhanced: reply.enhanced, text };
}

export function replyRecordToString(reply: ReplyRecord): string {
  return replyToString({ code: reply.code, enhanced: reply.enhanced, text: reply.text });
}

export function toDeliveryRecord(delivery: Delivery, seq: number): DeliveryRecord {
  const record: DeliveryRecord = {
    seq,
    id: delivery.id,
    accepted: delivery.accepted,
    sender: delivery.sender,
    recipients: delivery.recipients,
    rejectedRecipients: delivery.rejectedRecipients.map((r) => ({ address: r.address, reply: toReplyRecord(r.reply) })),
    size: delivery.size,
    body: delivery.body,
    smtputf8: delivery.smtputf8,
    reply: toReplyRecord(delivery.reply),
    via: delivery.via,
    helo: delivery.heloName,
    tls: delivery.tls,
    user: delivery.user,
    client: { address: delivery.connection.remoteAddress, port: delivery.connection.remotePort },
    listener: delivery.connection.listener,
    connectionId: delivery.connection.id,
    time: delivery.time,
    faults: delivery.faults,
  };
  if (delivery.rejectedRecipientsOmitted > 0) record.rejectedRecipientsOmitted = delivery.rejectedRecipientsOmitted;
  if (delivery.envid !== undefined) record.envid = delivery.envid;
  if (delivery.ret !== undefined) record.ret = delivery.ret;
  if (delivery.recipientDetails.some((r) => r.notify !== undefined || r.orcpt !== undefined)) {
    record.dsn = delivery.recipientDetails.map((r) => {
      const entry: { address: string; notify?: string[]; orcpt?: string } = { address: r.address };
      if (r.notify !== undefined) entry.notify = r.notify;
      if (r.orcpt !== undefined) entry.orcpt = r.orcpt;
      return entry;
    });
  }
  if (delivery.lmtpReplies !== undefined) {
    record.lmtpReplies = delivery.lmtpReplies.map((r) => ({ address: r.address, reply: toReplyRecord(r.reply) }));
  }
  if (delivery.headers !== undefined) addHeaderSection(record, delivery.headers);
  return record;
}

/** @internal fills a record's `headers` and decoded `subject` from a raw header section. */
export function addHeaderSection(record: DeliveryRecord, raw: Buffer): void {
  record.headers = parseHeaderSection(raw);
  const subject = record.headers.subject?.[0];
  if (subject !== undefined) record.subject = decodeEncodedWords(subject);
}
