import { type Reply, reply } from '../protocol/reply.js';
import { BLOCKLIST_RESTRICTIONS, type BlocklistRestriction, DEFAULT_RBL_CODE, rblReply } from './presets/blocklists.js';
import { PROVIDER_PRESETS, type ProviderPreset, type ProviderPresetName, providerPreset } from './presets/providers.js';

/**
 * The black-hole MTA's bounce set with the RFC 3463 enhanced code that fits each, and the
 * RFC 5321 §4.2.2 text (RFC 1985 for 458, RFC 7504 for 521; 571 is the black-hole MTA's own).
 */
const bounceSet: readonly Reply[] = [
  reply(450, '4.2.1', 'Requested mail action not taken: mailbox unavailable'),
  reply(451, '4.3.0', 'Requested action aborted: local error in processing'),
  reply(452, '4.3.1', 'Requested action not taken: insufficient system storage'),
  reply(458, '4.4.0', 'Unable to queue messages for node'),
  reply(521, '5.3.2', 'Host does not accept mail'),
  reply(550, '5.1.1', 'Requested action not taken: mailbox unavailable'),
  reply(551, '5.1.6', 'User not local'),
  reply(552, '5.2.2', 'Requested mail action aborted: exceeded storage allocation'),
  reply(553, '5.1.3', 'Requested action not taken: mailbox name not allowed'),
  reply(571, '5.7.1', 'Delivery not authorized, message refused'),
];

/** The real-world rejections: the mailbox providers' documented replies and Postfix's blocklist reply. */
export interface RejectionCatalogue {
  /**
   * The provider presets by name, each with code, enhanced code, text (with `{recipient}`,
   * `{senderDomain}`, `{clientAddress}` placeholders), default stage and source link.
   *
   * @example bounceReplies.providers['gmail.unknownUser'].code // 550
   */
  readonly providers: { readonly [name in ProviderPresetName]: ProviderPreset };
  /**
   * Postfix's reply to a listed client (`default_rbl_reply`), as a blocklist rule sends it.
   *
   * @example replyToString(bounceReplies.blocklist('reject_rbl_client', 'zen.spamhaus.org', '192.0.2.1'))
   * // '554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org'
   */
  blocklist(
    restriction: BlocklistRestriction,
    list: string,
    what: string,
    options?: { reason?: string; code?: number },
  ): Reply;
}

/**
 * The black-hole MTA's bounce set (what `mode: 'bounce'` picks from, RFC 5321 texts), and the
 * catalogue of real-world rejections: `bounceReplies.providers` and `bounceReplies.blocklist(…)`.
 *
 * @example bounceReplies.providers['gmail.mailboxFull'] // { code: 452, enhanced: '4.2.2', text: "The recipient's inbox is out of storage space. …", … }
 */
export const bounceReplies: readonly Reply[] & RejectionCatalogue = Object.assign(bounceSet, {
  providers: Object.freeze(
    Object.fromEntries(Object.keys(PROVIDER_PRESETS).map((name) => [name, providerPreset(name) as ProviderPreset])),
  ) as RejectionCatalogue['providers'],
  blocklist: (
    restriction: BlocklistRestriction,
    list: string,
    what: string,
    options: { reason?: string; code?: number } = {},
  ): Reply =>
    rblReply(
      options.code ?? DEFAULT_RBL_CODE,
      BLOCKLIST_RESTRICTIONS[restriction].class,
      what,
      list.split('=')[0] as string,
      options.reason ?? '',
    ),
});

/** Codes of the bounce set, e.g. for documentation and validation messages. */
export const bounceCodes: readonly number[] = bounceSet.map((r) => r.code);

/** Enhanced code and text a fault reply gets when the rule only gives the code. */
const standard = new Map<number, { enhanced: string; text: string }>([
  ...bounceSet.map((r) => [r.code, { enhanced: r.enhanced as string, text: r.text as string }] as const),
  [421, { enhanced: '4.3.0', text: 'Service not available, closing transmission channel' }],
  [454, { enhanced: '4.7.0', text: 'Temporary authentication failure' }],
  [535, { enhanced: '5.7.8', text: 'Authentication credentials invalid' }],
  [554, { enhanced: '5.0.0', text: 'Transaction failed' }],
  [530, { enhanced: '5.7.0', text: 'Authentication required' }],
  [503, { enhanced: '5.5.1', text: 'Bad sequence of commands' }],
  [500, { enhanced: '5.5.2', text: 'Syntax error, command unrecognized' }],
  [501, { enhanced: '5.5.4', text: 'Syntax error in parameters or arguments' }],
  [502, { enhanced: '5.5.1', text: 'Command not implemented' }],
  [220, { enhanced: '', text: 'Service ready' }],
  [221, { enhanced: '2.0.0', text: 'Service closing transmission channel' }],
  [250, { enhanced: '2.0.0', text: 'OK' }],
  [354, { enhanced: '', text: 'Start mail input; end with <CRLF>.<CRLF>' }],
]);

/** Replies of the behaviours; as in protocol/replies.ts, no text is typed twice. */
export const behaviourReplies = {
  /** RFC 6647 §2.1: greylisting answers 4xx to the first attempt of a sender/recipient pair. */
  greylisted: reply(451, '4.7.1', 'Greylisted: please try again later'),
  badSwitch: (header: string, why: string): Reply => reply(554, '5.6.0', `Bad header switch ${header}: ${why}`),
  cramMd5Initial: reply(501, '5.5.2', 'CRAM-MD5 takes no initial response: send AUTH CRAM-MD5 alone'),
  saslMalformed: (mechanism: string): Reply =>
    reply(501, '5.5.2', `Malformed ${mechanism} response (the credentials are in the wrong format)`),
  loginUser: 'Username:',
  loginPassword: 'Password:',

  /**
   * A reply given by code, with optional enhanced code and text; what is left out comes from the
   * standard table (`451` → `451 4.3.0 Requested action aborted: local error in processing`).
   */
  custom: (code: number, enhanced?: string, text?: string): Reply => {
    const known = standard.get(code);
    const classDigit = String(code)[0];
    const defaultEnhanced = known?.enhanced ?? (code < 300 || code >= 400 ? `${classDigit}.0.0` : '');
    const e = enhanced ?? (defaultEnhanced === '' ? undefined : defaultEnhanced);
    return reply(code, e, text ?? known?.text ?? `Reply ${code} injected by mailhole`);
  },
} as const;

/** Parses `451 4.3.0 Try later`, `451 Try later` or `451` into a reply (the rest from the standard table). */
export function parseReply(text: string): Reply | string {
  const m = /^\s*(\d{3})(?:\s+([245]\.\d{1,3}\.\d{1,3}))?(?:\s+(.*?))?\s*$/.exec(text);
  if (m === null) return `must look like "451 4.3.0 Try again later" (code, optional enhanced code, optional text)`;
  try {
    return behaviourReplies.custom(Number(m[1]), m[2], m[3] === '' ? undefined : m[3]);
  } catch (error) {
    return (error as Error).message;
  }
}
