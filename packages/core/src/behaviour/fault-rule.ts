import type { Decision, FiredFault, Stage, StageContext } from '../protocol/types.js';
import type { DelayRange, StageName } from './delays.js';
import { type AddressPattern, patternToJson } from './patterns.js';
import {
  type BlocklistAction,
  type BlocklistOptions,
  blocklistRule,
  type PresetAction,
  type PresetRuleOptions,
  type ProviderPresetName,
  presetRule,
} from './presets/index.js';
import { behaviourReplies } from './replies.js';

// A fault rule: what it matches (`FaultMatch`), what it does (`FaultAction`), how long it lives and
// what it reports; the short forms (`faultRule.failNext(451)` …) as plain, JSON-safe rules.

/**
 * When a fault rule fires. Every condition given must hold; the counting conditions (`nth`,
 * `first`) count the times the rule was asked with the other conditions holding (a stage that an
 * earlier rule already decided does not count).
 */
export interface FaultMatch {
  /** Only the nth time (from 1). */
  nth?: number;
  /** The first k times. */
  first?: number;
  /** With this probability (0 to 1), drawn from the sink's seeded generator (option `seed`). */
  probability?: number;
  /** The envelope sender (`MAIL FROM`): a glob such as `*@example.com`, or a RegExp (`"/…/i"` in JSON). */
  sender?: AddressPattern;
  /** The recipient being decided (stage `rcpt`, or `message` under LMTP), else any recipient of the transaction. */
  recipient?: AddressPattern;
  /**
   * Stage `message` only: a header of the message, by name, optionally with a value that must
   * contain the given text (or match the RegExp). `"X-Test"` and `"X-Test: fail"` are short forms.
   */
  header?: string | { name: string; value?: string | RegExp };
  /** Only connections of this listener: `smtp`, `smtps` (implicit TLS) or `lmtp`. */
  listener?: string;
  /**
   * Stage `rcpt` only: the first attempt of each sender/recipient pair, and retries sooner than
   * `retryAfterMs` (default 0) after it (greylisting, RFC 6647).
   */
  greylist?: true | { retryAfterMs?: number };
  /** In-process only (not JSON): your own condition. */
  when?: (context: StageContext) => boolean;
}

/** What a fault does when it fires. `delayMs` waits before it (whole ms, or a `[min, max]` range). */
export type FaultAction =
  /** Reply with any code; `close: true` closes the connection after it. */
  | { type: 'reply'; code: number; enhanced?: string; text?: string; close?: boolean; delayMs?: DelayRange }
  /** `421` (or the given code) and close the connection. */
  | { type: 'disconnect'; code?: number; enhanced?: string; text?: string; delayMs?: DelayRange }
  /** Close the connection without a reply. */
  | { type: 'close'; delayMs?: DelayRange }
  /** Drop the connection with a TCP RST. */
  | { type: 'reset'; delayMs?: DelayRange }
  /** Wait, then send the reply the sink would have sent. */
  | { type: 'delay'; ms: DelayRange }
  /** From this stage on, read at most this many octets per second. */
  | { type: 'throttle'; bytesPerSecond: number }
  /** Stop reading after this many more octets (with stage `data`: a server that stalls mid-message). */
  | { type: 'stall'; afterBytes: number }
  /** Reply as a large mailbox provider documents it: `{ type: 'preset', preset: 'gmail.unknownUser' }` (see `bounceReplies.providers`). */
  | PresetAction
  /** Answer as Postfix's `reject_rbl_client` / `reject_rhsbl_*` does when the client, HELO name, sender or recipient is listed. */
  | BlocklistAction;

/**
 * A fault rule: at a stage, when the match holds, do the action, for a lifetime.
 *
 * @example sink.faults.add({ stage: 'rcpt', match: { recipient: '*@bounce.test' }, action: '550 5.1.1 No such user' });
 */
export interface FaultRule {
  /** A unique name (default `fault-<n>`); shown in records and used to remove the rule. */
  name?: string;
  /**
   * `greeting` (or `connect`), `helo`, `starttls`, `auth`, `mail`, `rcpt`, `data`, `message` (end of data or BDAT LAST), `rset`, `quit`.
   * Optional for a preset or blocklist action, which has a stage of its own.
   */
  stage?: StageName;
  match?: FaultMatch;
  /**
   * The action, or a short form: a reply (`'451'`, `'451 4.3.0 Try again later'`),
   * `'disconnect'` (421 and close), `'close'` (no reply), `'reset'` (TCP RST) or a provider preset's name (`'gmail.mailboxFull'`).
   */
  action: FaultAction | string;
  /** Fire this many times, then remove itself (`1`: once). Default: until removed. */
  times?: number;
}

/** A rule as JSON, with its counters: what `sink.faults.list()` and `GET /api/faults` return. */
export interface FaultRuleInfo {
  name: string;
  stage: Stage;
  match: Omit<FaultMatch, 'when' | 'sender' | 'recipient' | 'header'> & {
    sender?: string;
    recipient?: string;
    header?: { name: string; value?: string };
    /** True when the rule has an in-process `when` condition (which JSON cannot show). */
    when?: true;
  };
  action: FaultAction;
  times?: number;
  /** How many times it fired. */
  fired: number;
  /** Firings left before it removes itself, when `times` was given. */
  remaining?: number;
}

/** One firing of a rule, kept in `sink.faults.fired()`: when, where and for whom. */
export interface FaultFiring extends FiredFault {
  connectionId: number;
  listener: string;
  sender?: string;
  recipient?: string;
}

/** A rule the sink holds; `remove()` takes it out (a no-op when it already expired). */
export interface FaultHandle {
  readonly name: string;
  /** How many times it fired so far. */
  readonly fired: number;
  /** False once removed or expired. */
  readonly active: boolean;
  remove(): void;
}

/** A rule that cannot be used; `message` names the field and what to write instead. */
export class FaultRuleError extends TypeError {
  override name = 'FaultRuleError';
}

/** A checked rule, ready to fire (what `compileRule` returns; not part of the public API). */
export interface CompiledRule {
  readonly name: string;
  readonly stage: Stage;
  readonly info: Omit<FaultRuleInfo, 'fired' | 'remaining'>;
  readonly needsHeaders: boolean;
  readonly matches: (context: StageContext) => boolean;
  readonly act: (context: StageContext) => Decision;
  readonly actionText: string;
  fired: number;
  remaining: number | undefined;
  active: boolean;
}

export interface FailNextOptions {
  enhanced?: string;
  text?: string;
  /** How many messages to fail. Default 1. */
  count?: number;
}

export interface BounceRecipientOptions {
  enhanced?: string;
  text?: string;
  /** Fire this many times, then stop. Default: until removed. */
  times?: number;
}

export interface GreylistOptions {
  /** Retries sooner than this after the first attempt are refused too. Default 0. */
  retryAfterMs?: number;
  /** Greylist only these recipients (default: all). */
  recipient?: AddressPattern;
  /** Greylist only these senders (default: all). */
  sender?: AddressPattern;
}

/**
 * The short forms as plain rules: what `sink.faults.failNext()` and the others add. JSON-safe
 * (a RegExp pattern becomes a `"/…/flags"` string), so a remote client can POST them to `/api/faults`.
 *
 * @example await fetch(`${api}/api/faults`, { method: 'POST', body: JSON.stringify(faultRule.failNext(451)) });
 */
export const faultRule = {
  failNext: (code = 451, options: FailNextOptions = {}): FaultRule => ({
    stage: 'message',
    action: { type: 'reply', code, ...pick(options, 'enhanced', 'text') },
    times: options.count ?? 1,
  }),
  bounceRecipient: (recipient: AddressPattern, code = 550, options: BounceRecipientOptions = {}): FaultRule => ({
    stage: 'rcpt',
    match: { recipient: patternToJson(recipient) },
    action: { type: 'reply', code, ...pick(options, 'enhanced', 'text') },
    ...pick(options, 'times'),
  }),
  greylist: (options: GreylistOptions = {}): FaultRule => {
    const greylisted = behaviourReplies.greylisted;
    const match: FaultMatch = { greylist: options.retryAfterMs ? { retryAfterMs: options.retryAfterMs } : true };
    if (options.recipient !== undefined) match.recipient = patternToJson(options.recipient);
    if (options.sender !== undefined) match.sender = patternToJson(options.sender);
    return {
      stage: 'rcpt',
      match,
      action: {
        type: 'reply',
        code: greylisted.code,
        ...(greylisted.enhanced === undefined ? {} : { enhanced: greylisted.enhanced }),
        text: greylisted.text as string,
      },
    };
  },
  disconnect: (stage: StageName = 'message', options: { times?: number; match?: FaultMatch } = {}): FaultRule => ({
    stage,
    action: { type: 'disconnect' },
    times: options.times ?? 1,
    ...pick(options, 'match'),
  }),
  delay: (stage: StageName, ms: DelayRange, options: { times?: number; match?: FaultMatch } = {}): FaultRule => ({
    stage,
    action: { type: 'delay', ms },
    ...pick(options, 'times', 'match'),
  }),
  /** A provider preset (`bounceReplies.providers`), e.g. `faultRule.preset('gmail.spam')`. */
  preset: (preset: ProviderPresetName, options: PresetRuleOptions = {}): FaultRule =>
    presetRule(preset, options) as FaultRule,
  /** A blocklist with Postfix's reply, e.g. `faultRule.blocklist({ list: 'zen.spamhaus.org', listed: 'all' })`. */
  blocklist: (blocklist: BlocklistOptions, options: PresetRuleOptions = {}): FaultRule =>
    blocklistRule(blocklist, options) as FaultRule,
} as const;

function pick<T extends object, K extends keyof T>(source: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}
