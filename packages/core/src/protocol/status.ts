import type { Reply } from './reply.js';

/**
 * What a reply means to the client that got it: RFC 5321 §4.2.1 (the first digit of the code) and
 * RFC 3463 (the enhanced status code `class.subject.detail`).
 */
export interface ReplyClass {
  code: number;
  enhanced: string | undefined;
  /** `success` (2xx), `intermediate` (3xx), `transient` (4xx: try again later) or `permanent` (5xx: do not retry). */
  kind: 'success' | 'intermediate' | 'transient' | 'permanent';
  /** 5xx: the client must not repeat the same request. */
  permanent: boolean;
  /** 4xx: the same request may succeed later. */
  transient: boolean;
  /** RFC 3463 class (the first number: 2 success, 4 persistent transient failure, 5 permanent failure); absent without an enhanced code. */
  class?: number;
  /** RFC 3463 subject (the middle number), e.g. `1` for 5.1.1; absent without an enhanced code. */
  subject?: number;
  /** RFC 3463 §3 name of the subject: `Addressing Status`, `Mailbox Status`, … `Security or Policy Status`. */
  subjectName?: string;
  /** RFC 3463 detail (the last number), e.g. `1` for 5.1.1. */
  detail?: number;
  /** RFC 3463 §3 name of `subject.detail` when the RFC defines it, e.g. `Bad destination mailbox address`. */
  detailName?: string;
}

/** RFC 3463 §3: subject sub-codes. */
const SUBJECTS: readonly string[] = [
  'Other or Undefined Status',
  'Addressing Status',
  'Mailbox Status',
  'Mail System Status',
  'Network and Routing Status',
  'Mail Delivery Protocol Status',
  'Message Content or Media Status',
  'Security or Policy Status',
];

/** RFC 3463 §3.1 to §3.8: the enumerated status codes, by `subject.detail`. */
const DETAILS: ReadonlyMap<string, string> = new Map([
  ['0.0', 'Other undefined Status'],
  ['1.0', 'Other address status'],
  ['1.1', 'Bad destination mailbox address'],
  ['1.2', 'Bad destination system address'],
  ['1.3', 'Bad destination mailbox address syntax'],
  ['1.4', 'Destination mailbox address ambiguous'],
  ['1.5', 'Destination address valid'],
  ['1.6', 'Destination mailbox has moved, No forwarding address'],
  ['1.7', "Bad sender's mailbox address syntax"],
  ['1.8', "Bad sender's system address"],
  ['2.0', 'Other or undefined mailbox status'],
  ['2.1', 'Mailbox disabled, not accepting messages'],
  ['2.2', 'Mailbox full'],
  ['2.3', 'Message length exceeds administrative limit'],
  ['2.4', 'Mailing list expansion problem'],
  ['3.0', 'Other or undefined mail system status'],
  ['3.1', 'Mail system full'],
  ['3.2', 'System not accepting network messages'],
  ['3.3', 'System not capable of selected features'],
  ['3.4', 'Message too big for system'],
  ['3.5', 'System incorrectly configured'],
  ['4.0', 'Other or undefined network or routing status'],
  ['4.1', 'No answer from host'],
  ['4.2', 'Bad connection'],
  ['4.3', 'Directory server failure'],
  ['4.4', 'Unable to route'],
  ['4.5', 'Mail system congestion'],
  ['4.6', 'Routing loop detected'],
  ['4.7', 'Delivery time expired'],
  ['5.0', 'Other or undefined protocol status'],
  ['5.1', 'Invalid command'],
  ['5.2', 'Syntax error'],
  ['5.3', 'Too many recipients'],
  ['5.4', 'Invalid command arguments'],
  ['5.5', 'Wrong protocol version'],
  ['6.0', 'Other or undefined media error'],
  ['6.1', 'Media not supported'],
  ['6.2', 'Conversion required and prohibited'],
  ['6.3', 'Conversion required but not supported'],
  ['6.4', 'Conversion with loss performed'],
  ['6.5', 'Conversion Failed'],
  ['7.0', 'Other or undefined security status'],
  ['7.1', 'Delivery not authorized, message refused'],
  ['7.2', 'Mailing list expansion prohibited'],
  ['7.3', 'Security conversion required but not possible'],
  ['7.4', 'Security features not supported'],
  ['7.5', 'Cryptographic failure'],
  ['7.6', 'Cryptographic algorithm not supported'],
  ['7.7', 'Message integrity failure'],
]);

/** `550 5.1.1 text`, `550-5.1.1 text` (a line of a multi-line reply) or `550 text`. */
const REPLY_LINE = /^\s*([2-5]\d\d)(?:[ -]+([245]\.\d{1,3}\.\d{1,3})(?=\s|$))?/;

/**
 * Classifies a reply: permanent or transient, and its RFC 3463 subject and detail. Takes a reply
 * object, a recorded reply (`record.reply`, `record.rejectedRecipients[i].reply`) or a reply line
 * as a client reports it (nodemailer's `error.response`). The reply code's first digit says
 * permanent or transient (what a client acts on); the enhanced code, when there is one, gives the
 * subject and detail.
 *
 * @example expect(classifyReply(error.response)).toMatchObject({ permanent: true, subject: 1, detail: 1 });
 */
export function classifyReply(reply: Reply | { code: number; enhanced?: string } | string): ReplyClass {
  let code: number;
  let enhanced: string | undefined;
  if (typeof reply === 'string') {
    const m = REPLY_LINE.exec(reply);
    if (m === null) {
      throw new TypeError(
        `classifyReply: ${JSON.stringify(reply.slice(0, 80))} is not an SMTP reply; it must start with a code such as "550 5.1.1"`,
      );
    }
    code = Number(m[1]);
    enhanced = m[2];
  } else if (typeof reply === 'object' && reply !== null && Number.isInteger(reply.code)) {
    code = reply.code;
    enhanced = reply.enhanced === '' ? undefined : reply.enhanced;
  } else {
    throw new TypeError('classifyReply takes a reply { code, enhanced?, text } or a reply line such as "550 5.1.1 …"');
  }
  if (code < 200 || code > 599) throw new RangeError(`classifyReply: reply code ${code} is not from 200 to 599`);
  const parts = enhanced?.split('.').map(Number);
  // The reply code decides what the client does (RFC 5321 §4.2.1): a provider's "421 5.7.32" is
  // still a transient refusal, whatever class its enhanced code claims.
  const classDigit = Math.floor(code / 100);
  const kind: ReplyClass['kind'] =
    classDigit === 2 ? 'success' : classDigit === 4 ? 'transient' : classDigit === 5 ? 'permanent' : 'intermediate';
  const out: ReplyClass = {
    code,
    enhanced,
    kind,
    permanent: kind === 'permanent',
    transient: kind === 'transient',
  };
  if (parts !== undefined) {
    const [statusClass, subject, detail] = parts as [number, number, number];
    out.class = statusClass;
    out.subject = subject;
    const subjectName = SUBJECTS[subject];
    if (subjectName !== undefined) out.subjectName = subjectName;
    out.detail = detail;
    const detailName = DETAILS.get(`${subject}.${detail}`);
    if (detailName !== undefined) out.detailName = detailName;
  }
  return out;
}
