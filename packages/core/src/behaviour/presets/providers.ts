import type { StageName } from '../delays.js';

/**
 * One reply a large mailbox provider documents, as data. `text` may hold placeholders the sink
 * fills in from the session: `{recipient}` (the recipient being refused, else the first of the
 * transaction), `{senderDomain}` (the domain of `MAIL FROM`) and `{clientAddress}` (the client's
 * IP address). `stage` is where the preset answers unless a rule says otherwise.
 */
export interface ProviderPreset {
  /** `gmail.unknownUser`: provider, then case. */
  readonly name: string;
  readonly provider: 'Gmail' | 'Microsoft 365' | 'Outlook.com' | 'Yahoo';
  /** The case, in words: `unknown user`, `mailbox full`, … */
  readonly case: string;
  readonly code: number;
  /** Absent where the provider's published reply has none. */
  readonly enhanced?: string;
  readonly text: string;
  readonly stage: StageName;
  /** Where the code, enhanced code and text are published. */
  readonly source: string;
}

/**
 * Google, "Gmail SMTP errors and codes" (Google Workspace Admin Help, page last updated 2026-02-12).
 * The texts are the page's, word for word; where the page links a help article, the article's title
 * stands where Gmail's live reply puts its URL. The page says Gmail appends "gsmtp" to all errors.
 */
const GOOGLE = 'https://support.google.com/a/answer/3726730';
/** Microsoft, "Email non-delivery reports and SMTP errors in Exchange Online" (Learn, 2024-03-08). */
const EXCHANGE =
  'https://learn.microsoft.com/en-us/troubleshoot/exchange/email-delivery/ndr/non-delivery-reports-in-exchange-online';
/** Outlook.com postmaster, "Policies, Practices, and Guidelines" (requirements for high-volume senders). */
const OUTLOOK_POLICIES = 'https://postmaster.live.com/pm/policies.aspx';
/** Yahoo Sender Hub, "SMTP Error Codes": its failure notice example. */
const YAHOO_CODES = 'https://senders.yahooinc.com/smtp-error-codes/';
/** Yahoo Help, SLN3436: 'Receiving "421 4.7.1 [TS03] All messages from x.x.x.x permanently deferred"'. */
const YAHOO_TS03 = 'http://help.yahoo.com/kb/index?page=content&y=PROD_MAIL_MOBILE&locale=en_US&id=SLN3436';

const gsmtp = (text: string): string => `${text} - gsmtp`;

/**
 * The provider presets: each reply as the provider publishes it, with its source. Cases a provider
 * publishes no reply text for are left out rather than made up (see the README's preset table).
 */
export const PROVIDER_PRESETS = {
  /** Gmail: no such mailbox (permanent). Source: https://support.google.com/a/answer/3726730 */
  'gmail.unknownUser': {
    provider: 'Gmail',
    case: 'unknown user',
    code: 550,
    enhanced: '5.1.1',
    text: gsmtp(
      "The email account that you tried to reach does not exist. Please double-check the recipient's email address for typos or unnecessary spaces. For more information, go to Fix bounced or rejected emails.",
    ),
    stage: 'rcpt',
    source: GOOGLE,
  },
  /** Gmail: the recipient's storage is full (transient). Source: https://support.google.com/a/answer/3726730 */
  'gmail.mailboxFull': {
    provider: 'Gmail',
    case: 'mailbox full',
    code: 452,
    enhanced: '4.2.2',
    text: gsmtp(
      "The recipient's inbox is out of storage space. Please direct the recipient to Manage files in your Google Drive storage.",
    ),
    stage: 'rcpt',
    source: GOOGLE,
  },
  /** Gmail: storage full and the account inactive (permanent over quota). Source: https://support.google.com/a/answer/3726730 */
  'gmail.overQuota': {
    provider: 'Gmail',
    case: 'over quota',
    code: 552,
    enhanced: '5.2.2',
    text: gsmtp(
      "The recipient's inbox is out of storage space and inactive. Please direct the recipient to Manage files in your Google Drive storage.",
    ),
    stage: 'rcpt',
    source: GOOGLE,
  },
  /** Gmail: the recipient receives mail too quickly (rate limited, transient). Source: https://support.google.com/a/answer/3726730 */
  'gmail.rateLimited': {
    provider: 'Gmail',
    case: 'rate limited',
    code: 450,
    enhanced: '4.2.1',
    text: gsmtp(
      'The user you are trying to contact is receiving email too quickly. Please resend your message at a later time. If the user is able to receive email at that time, your message will be delivered. For more information, go to Limits for sending & getting email.',
    ),
    stage: 'rcpt',
    source: GOOGLE,
  },
  /** Gmail: server busy, the connection closes (421, transient). Source: https://support.google.com/a/answer/3726730 */
  'gmail.tryAgainLater': {
    provider: 'Gmail',
    case: 'try again later',
    code: 421,
    enhanced: '4.4.5',
    text: gsmtp('Server busy, try again later. For more information, go to About SMTP error messages.'),
    stage: 'connect',
    source: GOOGLE,
  },
  /** Gmail: message too large (permanent). Source: https://support.google.com/a/answer/3726730 */
  'gmail.messageTooLarge': {
    provider: 'Gmail',
    case: 'message too large',
    code: 552,
    enhanced: '5.3.4',
    text: gsmtp(
      "Your message exceeded Google's message size limits. To view our message size guidelines, go to Send attachments with your Gmail message.",
    ),
    stage: 'message',
    source: GOOGLE,
  },
  /** Gmail: SPF hard fail (`-all`) for the `MAIL FROM` domain. Source: https://support.google.com/a/answer/3726730 */
  'gmail.spfFailed': {
    provider: 'Gmail',
    case: 'SPF rejection',
    code: 550,
    enhanced: '5.7.26',
    text: gsmtp(
      'The (E)MAIL FROM domain [{senderDomain}] has an SPF record with a hard fail policy (-all) but it fails to pass SPF checks with the ip: [{clientAddress}]. To best protect our users from spam and phishing, the message has been blocked. For more information, go to Email sender guidelines.',
    ),
    stage: 'message',
    source: GOOGLE,
  },
  /** Gmail: DKIM did not pass (bulk sender requirement). Source: https://support.google.com/a/answer/3726730 */
  'gmail.dkimFailed': {
    provider: 'Gmail',
    case: 'DKIM rejection',
    code: 550,
    enhanced: '5.7.30',
    text: gsmtp(
      "This message was blocked because it didn't pass DKIM authentication. Gmail requires bulk email senders to authenticate their email with DKIM. Authentication results: DKIM = did not pass To set up DKIM for your sending domains, visit Set up DKIM. To learn more about Gmail requirements for bulk email senders, visit Email sender guidelines.",
    ),
    stage: 'message',
    source: GOOGLE,
  },
  /** Gmail: DMARC policy of the sender's domain (here: the `MAIL FROM` domain). Source: https://support.google.com/a/answer/3726730 */
  'gmail.dmarcRejected': {
    provider: 'Gmail',
    case: 'DMARC rejection',
    code: 550,
    enhanced: '5.7.26',
    text: gsmtp(
      "Unauthenticated email from {senderDomain} is not accepted due to domain's DMARC policy. Contact the administrator of {senderDomain} domain if this was legitimate email. To learn about the DMARC initiative, go to Control unauthenticated email from your domain.",
    ),
    stage: 'message',
    source: GOOGLE,
  },
  /** Gmail: neither SPF nor DKIM passed. Source: https://support.google.com/a/answer/3726730 */
  'gmail.unauthenticated': {
    provider: 'Gmail',
    case: 'SPF and DKIM rejection',
    code: 550,
    enhanced: '5.7.26',
    text: gsmtp(
      'This email has been blocked because the sender is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM. Authentication results: DKIM = did not pass SPF [{senderDomain}] with ip: [{clientAddress}] = did not pass. For instructions on setting up authentication, go to Email sender guidelines.',
    ),
    stage: 'message',
    source: GOOGLE,
  },
  /** Gmail: blocked as likely spam. Source: https://support.google.com/a/answer/3726730 */
  'gmail.spam': {
    provider: 'Gmail',
    case: 'blocked as spam',
    code: 550,
    enhanced: '5.7.1',
    text: gsmtp(
      'This message is likely unsolicited email. To reduce the amount of spam sent to Gmail, this message has been blocked. For more information, go to Why has Gmail blocked my messages?',
    ),
    stage: 'message',
    source: GOOGLE,
  },
  /** Gmail: the recipient's domain requires TLS; 421 closes the connection. Source: https://support.google.com/a/answer/3726730 */
  'gmail.tlsRequired': {
    provider: 'Gmail',
    case: 'TLS required',
    code: 421,
    enhanced: '4.7.0',
    text: gsmtp(
      'TLS required for RCPT domain, closing connection. For more information, go to Email encryption in transit.',
    ),
    stage: 'rcpt',
    source: GOOGLE,
  },

  /**
   * Exchange Online: recipient not found by SMTP address lookup. The table gives 5.1.10 and its text;
   * the 550 is from the linked article "Fix email delivery issues for error code 550 5.1.10". Source: https://learn.microsoft.com/en-us/troubleshoot/exchange/email-delivery/ndr/non-delivery-reports-in-exchange-online
   */
  'microsoft.unknownUser': {
    provider: 'Microsoft 365',
    case: 'unknown user',
    code: 550,
    enhanced: '5.1.10',
    text: 'Recipient not found',
    stage: 'rcpt',
    source: EXCHANGE,
  },
  /** Exchange Online: the recipient mailbox is throttled, receiving too much too quickly. Source: https://learn.microsoft.com/en-us/troubleshoot/exchange/email-delivery/ndr/non-delivery-reports-in-exchange-online */
  'microsoft.rateLimited': {
    provider: 'Microsoft 365',
    case: 'rate limited',
    code: 432,
    enhanced: '4.3.2',
    text: 'STOREDRV.Deliver; recipient thread limit exceeded',
    stage: 'message',
    source: EXCHANGE,
  },
  /**
   * Exchange Online: sending temporarily restricted (4.7.500-699); the 451 is from the linked article
   * fix-error-code-451-4-7-500-699-asxxx-in-exchange-online. Source: https://learn.microsoft.com/en-us/troubleshoot/exchange/email-delivery/ndr/non-delivery-reports-in-exchange-online
   */
  'microsoft.tryAgainLater': {
    provider: 'Microsoft 365',
    case: 'try again later',
    code: 451,
    enhanced: '4.7.500',
    text: 'Access denied, please try again later',
    stage: 'rcpt',
    source: EXCHANGE,
  },
  /** Outlook.com / Hotmail: the recipient was not found by SMTP address lookup. Source: https://learn.microsoft.com/en-us/troubleshoot/exchange/email-delivery/ndr/non-delivery-reports-in-exchange-online */
  'outlook.unknownUser': {
    provider: 'Outlook.com',
    case: 'unknown user',
    code: 550,
    enhanced: '5.5.0',
    text: 'Requested action not taken: mailbox unavailable',
    stage: 'rcpt',
    source: EXCHANGE,
  },
  /**
   * Outlook.com: a high-volume sender without SPF, DKIM and DMARC (`[SendingDomain]` is the `MAIL FROM`
   * domain here). Source: https://postmaster.live.com/pm/policies.aspx
   */
  'outlook.unauthenticated': {
    provider: 'Outlook.com',
    case: 'SPF/DKIM/DMARC rejection',
    code: 550,
    enhanced: '5.7.515',
    text: 'Access denied, sending domain [{senderDomain}] does not meet the required authentication level.',
    stage: 'message',
    source: OUTLOOK_POLICIES,
  },

  /**
   * Yahoo: the failure notice example on the Sender Hub's error code page (no enhanced code; the
   * mta host name is the example's). Source: https://senders.yahooinc.com/smtp-error-codes/
   */
  'yahoo.unknownUser': {
    provider: 'Yahoo',
    case: 'unknown user',
    code: 554,
    text: "delivery error: dd This user doesn't have a yahoo.com account ({recipient}) [-5] - mta123.mail.mud.yahoo.com",
    stage: 'message',
    source: YAHOO_CODES,
  },
  /** Yahoo: deferred for the sending IP's traffic or complaints (4xx, but retrying soon will not help). Source: http://help.yahoo.com/kb/index?page=content&y=PROD_MAIL_MOBILE&locale=en_US&id=SLN3436 */
  'yahoo.deferred': {
    provider: 'Yahoo',
    case: 'rate limited / try again later',
    code: 421,
    enhanced: '4.7.1',
    text: '[TS03] All messages from {clientAddress} permanently deferred',
    stage: 'mail',
    source: YAHOO_TS03,
  },
} as const satisfies Record<string, Omit<ProviderPreset, 'name'>>;

/** The name of a provider preset, e.g. `gmail.unknownUser`. */
export type ProviderPresetName = keyof typeof PROVIDER_PRESETS;

/** Every provider preset with its name, in catalogue order. */
export const providerPresets: readonly ProviderPreset[] = Object.entries(
  PROVIDER_PRESETS as Record<string, Omit<ProviderPreset, 'name'>>,
).map(([name, preset]) => Object.freeze({ name, ...preset }));

const byName = new Map(providerPresets.map((p) => [p.name, p]));

/** The preset of this name, or `undefined`. */
export function providerPreset(name: string): ProviderPreset | undefined {
  return byName.get(name);
}
