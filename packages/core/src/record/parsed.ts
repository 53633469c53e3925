import { headerSectionOf, parseHeaderSection } from '../protocol/header-section.js';
import { type MessageHelpers, withMessageHelpers } from './message-content.js';
import type { DeliveryRecord } from './records.js';

/** A mailbox from a header (`From`, `To`, `Cc`, `Reply-To`). */
export interface MailAddress {
  address: string;
  /** Display name, `''` when there is none. */
  name: string;
}

/** An attachment (or inline part with a file name) of a parsed message. */
export interface ParsedAttachment {
  filename: string | undefined;
  /** e.g. `application/pdf` */
  contentType: string;
  /** Decoded octets. */
  size: number;
  /** `attachment` or `inline`. */
  disposition: string | undefined;
  contentId: string | undefined;
  /** MD5 of the decoded content, hex. */
  checksum: string;
  content: Buffer;
}

/**
 * The parsed view of a captured message: decoded headers, bodies and attachments (made by
 * mailparser), plus the envelope, so blind copies are visible, and the helpers an end-to-end test
 * needs (`links()`, `link()`, `codes()`).
 */
export interface ParsedMessage extends MessageHelpers {
  /** The envelope of the delivery: the only place a BCC recipient appears. */
  envelope: { sender: string; recipients: string[] };
  /** Header values by lower-cased name, unfolded but not decoded (RFC 5322). */
  headers: Record<string, string[]>;
  subject: string | undefined;
  messageId: string | undefined;
  /** The `Date` header as an ISO string. */
  date: string | undefined;
  from: MailAddress[];
  to: MailAddress[];
  cc: MailAddress[];
  replyTo: MailAddress[];
  /** Envelope recipients named in neither `To` nor `Cc` (and any `Bcc` header left in the message). */
  bcc: string[];
  text: string | undefined;
  html: string | undefined;
  attachments: ParsedAttachment[];
}

/** The parsed view as JSON (what `GET /api/messages/:id` answers): attachment content in base64. */
export type ParsedMessageJson = Omit<ParsedMessage, 'attachments' | keyof MessageHelpers> & {
  attachments: Array<Omit<ParsedAttachment, 'content'> & { content: string }>;
};

/**
 * A message the sink kept (capture `full`): its delivery record, its exact octets and a parsed
 * view made only when asked.
 *
 * @example const [message] = sink.messages({ to: 'bob@test' }); expect((await message.parsed()).subject).toBe('Hi');
 */
export class CapturedMessage {
  private parsing: Promise<ParsedMessage> | undefined;

  constructor(
    /** The delivery this message came with. */
    readonly record: DeliveryRecord,
    /** The message as received: header section and body, dot-unstuffed, byte for byte. */
    readonly raw: Buffer,
  ) {}

  /** The delivery id (also in the `250` reply). */
  get id(): string {
    return this.record.id;
  }

  /** Octets of the message. */
  get size(): number {
    return this.raw.length;
  }

  /** Parses the message with mailparser on first call; later calls share the result. */
  parsed(): Promise<ParsedMessage> {
    this.parsing ??= parseMessage(this.raw, this.record);
    return this.parsing;
  }
}

/** Parses raw message octets into the parsed view, with the envelope of `record`. */
export async function parseMessage(
  raw: Buffer,
  record: Pick<DeliveryRecord, 'sender' | 'recipients'>,
): Promise<ParsedMessage> {
  // Loaded on first use: a sink that never parses never pays for the MIME parser.
  const { simpleParser } = await import('mailparser');
  const mail = await simpleParser(raw, { skipTextToHtml: true, skipImageLinks: true, keepCidLinks: true });
  const to = addresses(mail.to);
  const cc = addresses(mail.cc);
  const named = new Set([...to, ...cc].map((a) => a.address.toLowerCase()));
  const bcc = record.recipients.filter((r) => !named.has(r.toLowerCase()));
  for (const a of addresses(mail.bcc)) {
    if (!bcc.some((b) => b.toLowerCase() === a.address.toLowerCase())) bcc.push(a.address);
  }
  return withMessageHelpers({
    envelope: { sender: record.sender, recipients: [...record.recipients] },
    headers: parseHeaderSection(headerSectionOf(raw)),
    subject: mail.subject,
    messageId: mail.messageId,
    date: mail.date === undefined || Number.isNaN(mail.date.getTime()) ? undefined : mail.date.toISOString(),
    from: addresses(mail.from),
    to,
    cc,
    replyTo: addresses(mail.replyTo),
    bcc,
    text: mail.text,
    html: mail.html === false ? undefined : mail.html,
    attachments: mail.attachments.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      size: a.size,
      disposition: a.contentDisposition,
      contentId: a.contentId,
      checksum: a.checksum,
      content: a.content,
    })),
  });
}

/** The parsed view as JSON. */
export function parsedToJson(parsed: ParsedMessage): ParsedMessageJson {
  return { ...parsed, attachments: parsed.attachments.map((a) => ({ ...a, content: a.content.toString('base64') })) };
}

interface AddressObjectLike {
  value: Array<{ address?: string | undefined; name: string; group?: Array<{ address?: string; name: string }> }>;
}

function addresses(field: AddressObjectLike | AddressObjectLike[] | undefined): MailAddress[] {
  if (field === undefined) return [];
  const out: MailAddress[] = [];
  for (const object of Array.isArray(field) ? field : [field]) {
    for (const entry of object.value) {
      // A group (`undisclosed-recipients: a@x, b@y;`) lists its members.
      for (const member of entry.group ?? [entry]) {
        if (member.address) out.push({ address: member.address, name: member.name ?? '' });
      }
    }
  }
  return out;
}
