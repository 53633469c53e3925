import { parseHeaderSection } from '../protocol/header-section.js';
import { type Reply, replyToString } from '../protocol/reply.js';
import type { Decision, FiredFault, Stage, StageContext } from '../protocol/types.js';
import { type DelayRange, STAGE_NAMES, type StageName, stageOf, toDelayRange } from './delays.js';
import {
  type AddressPattern,
  compilePattern,
  compileValuePattern,
  type PatternMatcher,
  patternToJson,
} from './patterns.js';
import {
  type BlocklistAction,
  type BlocklistOptions,
  blocklistRule,
  compilePresetAction,
  isPresetName,
  type PresetAction,
  type PresetRuleOptions,
  type ProviderPresetName,
  presetRule,
  presetStage,
} from './presets/index.js';
import { between, type Random, streamFor } from './random.js';
import { behaviourReplies, parseReply } from './replies.js';

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

const HISTORY_LIMIT = 1000;
const GREYLIST_LIMIT = 100_000;

interface CompiledRule {
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

/**
 * The fault rules of one sink, added and removed while it runs. Rules are tried in the order
 * they were added; the first that fires at a stage decides it.
 *
 * @example const rule = sink.faults.failNext(451); await send(); rule.remove();
 */
export class FaultRules {
  private rules: CompiledRule[] = [];
  private byStage = new Map<Stage, CompiledRule[]>();
  private history: FaultFiring[] = [];
  private counter = 0;
  private headerRules = 0;

  /** @internal the sink passes its seed and learns when the set of rules changes. */
  constructor(
    private readonly seed: number,
    private readonly changed: () => void = () => {},
  ) {}

  /**
   * Adds a rule (a `FaultRule` or its JSON form) and returns a handle to remove it.
   * Throws a `FaultRuleError` naming the field when the rule cannot be used.
   */
  add(rule: FaultRule): FaultHandle {
    const name = rule?.name ?? this.freshName();
    if (this.rules.some((r) => r.name === name)) {
      throw new FaultRuleError(
        `sink.faults.add: a rule named "${name}" already exists; remove it or choose another name`,
      );
    }
    const compiled = compileRule(rule, name, this.seed, 'sink.faults.add:');
    this.rules.push(compiled);
    this.rebuild();
    return {
      name,
      get fired() {
        return compiled.fired;
      },
      get active() {
        return compiled.active;
      },
      remove: () => {
        this.remove(name);
      },
    };
  }

  /** Removes the rule with this name; false when there is none. */
  remove(name: string): boolean {
    const rule = this.rules.find((r) => r.name === name);
    if (rule === undefined) return false;
    this.drop(rule);
    return true;
  }

  /** Removes every rule (the record of firings stays: see `fired()`). */
  clear(): void {
    if (this.rules.length === 0) return;
    for (const rule of this.rules) rule.active = false;
    this.rules = [];
    this.rebuild();
  }

  /** The active rules as JSON, with how often each fired. */
  list(): FaultRuleInfo[] {
    return this.rules.map(ruleInfo);
  }

  /** Number of active rules. */
  get size(): number {
    return this.rules.length;
  }

  /** Faults that fired (the last 1000), oldest first: what a test asserts retries and back-off on. */
  fired(filter?: { rule?: string; stage?: StageName }): FaultFiring[] {
    const stage = filter?.stage === undefined ? undefined : stageOf(filter.stage);
    return this.history.filter(
      (f) => (filter?.rule === undefined || f.rule === filter.rule) && (stage === undefined || f.stage === stage),
    );
  }

  /** Forgets the record of firings (the rules stay). */
  clearFired(): void {
    this.history = [];
  }

  // --- short forms (each adds one of the `faultRule` builders) ------------------------------------

  /**
   * Fails the next `count` messages (default 1) at the end of data with `code` (default 451).
   *
   * @example sink.faults.failNext(); sink.faults.failNext(554, { text: 'Spam detected', count: 2 });
   */
  failNext(code?: number, options?: FailNextOptions): FaultHandle {
    return this.add(faultRule.failNext(code, options));
  }

  /**
   * Refuses a recipient at RCPT (default `550 5.1.1`) until the rule is removed.
   *
   * @example sink.faults.bounceRecipient('nobody@test'); sink.faults.bounceRecipient(/^full-/, 552);
   */
  bounceRecipient(recipient: AddressPattern, code?: number, options?: BounceRecipientOptions): FaultHandle {
    return this.add(faultRule.bounceRecipient(recipient, code, options));
  }

  /**
   * Greylisting: the first attempt of each sender/recipient pair gets `451 4.7.1` at RCPT; a retry
   * passes (once `retryAfterMs` has passed since the first attempt, default at once).
   *
   * @example sink.faults.greylist(); // first send fails with 451 4.7.1, the retry is accepted
   */
  greylist(options?: GreylistOptions): FaultHandle {
    return this.add({ name: this.freshName('greylist'), ...faultRule.greylist(options) });
  }

  /**
   * Answers `421` and closes the connection at a stage (default: the next message), `times` times (default 1).
   *
   * @example sink.faults.disconnect('rcpt');
   */
  disconnect(stage?: StageName, options?: { times?: number; match?: FaultMatch }): FaultHandle {
    return this.add(faultRule.disconnect(stage, options));
  }

  /**
   * Replies as a large mailbox provider does, at the preset's stage unless `options.stage` says otherwise.
   *
   * @example sink.faults.preset('gmail.unknownUser', { recipient: '*@gone.test' });
   */
  preset(preset: ProviderPresetName, options?: PresetRuleOptions): FaultHandle {
    return this.add(faultRule.preset(preset, options));
  }

  /**
   * Acts as if the client (or its HELO name, sender or recipient domain) were on a blocklist, with
   * Postfix's reply, at RCPT unless `options.stage` says otherwise. No DNS query is made.
   *
   * @example sink.faults.blocklist({ list: 'zen.spamhaus.org', listed: ['127.0.0.0/8'] });
   */
  blocklist(blocklist: BlocklistOptions, options?: PresetRuleOptions): FaultHandle {
    return this.add(faultRule.blocklist(blocklist, options));
  }

  /**
   * Delays a stage's reply by `ms` (or a `[min, max]` range) until removed.
   *
   * @example sink.faults.delay('greeting', 5000);
   */
  delay(stage: StageName, ms: DelayRange, options?: { times?: number; match?: FaultMatch }): FaultHandle {
    return this.add(faultRule.delay(stage, ms, options));
  }

  // --- for the policy ---------------------------------------------------------------------------

  /** @internal true when a rule matches on headers (the session must keep them). */
  get needsHeaders(): boolean {
    return this.headerRules > 0;
  }

  /** @internal the decision of the first rule that fires at this stage, or `undefined`. */
  decide(context: StageContext): Decision | undefined {
    const candidates = this.byStage.get(context.stage);
    if (candidates === undefined) return undefined;
    for (const rule of candidates) {
      if (!rule.active || !rule.matches(context)) continue;
      const decision = rule.act(context);
      const fault: FiredFault = { rule: rule.name, stage: context.stage, action: rule.actionText, at: Date.now() };
      decision.fault = fault;
      rule.fired++;
      this.remember(fault, context);
      if (rule.remaining !== undefined && --rule.remaining <= 0) this.drop(rule);
      return decision;
    }
    return undefined;
  }

  private remember(fault: FiredFault, context: StageContext): void {
    const firing: FaultFiring = {
      ...fault,
      connectionId: context.connection.id,
      listener: context.connection.listener,
    };
    if (context.transaction !== undefined) firing.sender = context.transaction.sender;
    if (context.recipient !== undefined) firing.recipient = context.recipient;
    if (this.history.push(firing) > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
  }

  private drop(rule: CompiledRule): void {
    rule.active = false;
    this.rules = this.rules.filter((r) => r !== rule);
    this.rebuild();
  }

  private rebuild(): void {
    const byStage = new Map<Stage, CompiledRule[]>();
    let headerRules = 0;
    for (const rule of this.rules) {
      const list = byStage.get(rule.stage);
      if (list === undefined) byStage.set(rule.stage, [rule]);
      else list.push(rule);
      if (rule.needsHeaders) headerRules++;
    }
    this.byStage = byStage;
    this.headerRules = headerRules;
    this.changed();
  }

  private freshName(prefix = 'fault'): string {
    let name: string;
    do name = `${prefix}-${++this.counter}`;
    while (this.rules.some((r) => r.name === name));
    return name;
  }
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

function ruleInfo(rule: CompiledRule): FaultRuleInfo {
  const info: FaultRuleInfo = { ...rule.info, fired: rule.fired };
  if (rule.remaining !== undefined) info.remaining = rule.remaining;
  return info;
}

function pick<T extends object, K extends keyof T>(source: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

// --- compiling a rule ---------------------------------------------------------------------------

/**
 * Checks a rule (in-process or JSON) and compiles it. `where` starts error messages, e.g.
 * `startSink: option "faults[0]"` or `sink.faults.add:`.
 */
export function compileRule(rule: FaultRule, name: string, seed: number, where: string): CompiledRule {
  const fail = (field: string, what: string): never => {
    throw new FaultRuleError(`${where} fault rule "${name}": ${field} ${what}`);
  };
  if (typeof rule !== 'object' || rule === null)
    fail('the rule', 'must be an object { stage, match?, action, times? }');
  if (typeof name !== 'string' || name === '' || name.length > 100) fail('"name"', 'must be a non-empty string');
  for (const key of Object.keys(rule)) {
    if (!['name', 'stage', 'match', 'action', 'times'].includes(key)) {
      fail(`"${key}"`, 'is not a field of a fault rule (fields: name, stage, match, action, times)');
    }
  }
  const stage =
    stageOf(rule.stage ?? presetStage(rule.action)) ??
    fail('"stage"', `must be one of ${STAGE_NAMES}, got ${JSON.stringify(rule.stage)}`);
  let times: number | undefined;
  if (rule.times !== undefined) {
    if (!Number.isInteger(rule.times) || rule.times < 1)
      fail('"times"', `must be a whole number >= 1, got ${rule.times}`);
    times = rule.times;
  }
  const random = streamFor(seed, `fault:${name}`);
  const match = compileMatch(rule.match ?? {}, stage, random, fail);
  const action = normalizeAction(rule.action, stage, fail);
  const applies = action.applies;
  const info: Omit<FaultRuleInfo, 'fired' | 'remaining'> = { name, stage, match: match.info, action: action.info };
  if (times !== undefined) info.times = times;
  return {
    name,
    stage,
    info,
    needsHeaders: match.needsHeaders,
    // A blocklist fires for listed sessions only: they alone count towards nth and first.
    matches: applies === undefined ? match.test : (c) => applies(c) && match.test(c),
    act: (context) => action.decide(random, context),
    actionText: action.text,
    fired: 0,
    remaining: times,
    active: true,
  };
}

type Fail = (field: string, what: string) => never;

function compileMatch(
  match: FaultMatch,
  stage: Stage,
  random: Random,
  fail: Fail,
): { test: (context: StageContext) => boolean; info: FaultRuleInfo['match']; needsHeaders: boolean } {
  if (typeof match !== 'object' || match === null) fail('"match"', 'must be an object');
  const known = ['nth', 'first', 'probability', 'sender', 'recipient', 'header', 'listener', 'greylist', 'when'];
  for (const key of Object.keys(match)) {
    if (!known.includes(key)) fail(`"match.${key}"`, `is not a condition (conditions: ${known.join(', ')})`);
  }
  const info: FaultRuleInfo['match'] = {};
  const tests: Array<(context: StageContext) => boolean> = [];

  if (match.listener !== undefined) {
    if (!['smtp', 'smtps', 'lmtp'].includes(match.listener)) {
      fail('"match.listener"', `must be "smtp", "smtps" or "lmtp", got ${JSON.stringify(match.listener)}`);
    }
    const listener = match.listener;
    info.listener = listener;
    tests.push((c) => c.connection.listener === listener);
  }
  if (match.sender !== undefined) {
    const re = addressPattern(match.sender, 'match.sender', fail);
    info.sender = patternToJson(match.sender);
    tests.push((c) => c.transaction !== undefined && re.test(c.transaction.sender));
  }
  if (match.recipient !== undefined) {
    const re = addressPattern(match.recipient, 'match.recipient', fail);
    info.recipient = patternToJson(match.recipient);
    tests.push((c) =>
      c.recipient !== undefined
        ? re.test(c.recipient)
        : c.transaction?.recipients.some((r) => re.test(r.address)) === true,
    );
  }
  let needsHeaders = false;
  if (match.header !== undefined) {
    if (stage !== 'message') fail('"match.header"', 'needs stage "message" (headers are known at the end of data)');
    const header = headerCondition(match.header, fail);
    info.header = header.info;
    needsHeaders = true;
    tests.push(header.test);
  }
  if (match.when !== undefined) {
    if (typeof match.when !== 'function') fail('"match.when"', 'must be a function (context) => boolean');
    const when = match.when;
    info.when = true;
    tests.push((c) => {
      try {
        return when(c) === true;
      } catch {
        // The policy must never throw into the session: a broken condition simply does not match.
        return false;
      }
    });
  }
  if (match.greylist !== undefined) {
    if (stage !== 'rcpt') fail('"match.greylist"', 'needs stage "rcpt" (greylisting answers the recipient)');
    const g = match.greylist;
    const retryAfterMs = g === true ? 0 : (g?.retryAfterMs ?? 0);
    if (g !== true && (typeof g !== 'object' || g === null || !Number.isInteger(retryAfterMs) || retryAfterMs < 0)) {
      fail('"match.greylist"', 'must be true or { retryAfterMs: <whole milliseconds >= 0> }');
    }
    info.greylist = retryAfterMs > 0 ? { retryAfterMs } : true;
    tests.push(greylistCondition(retryAfterMs));
  }

  let counting: ((seen: number) => boolean) | undefined;
  if (match.nth !== undefined && match.first !== undefined) fail('"match"', 'takes "nth" or "first", not both');
  if (match.nth !== undefined) {
    const nth = match.nth;
    if (!Number.isInteger(nth) || nth < 1) fail('"match.nth"', `must be a whole number >= 1, got ${nth}`);
    info.nth = nth;
    counting = (seen) => seen === nth;
  }
  if (match.first !== undefined) {
    const first = match.first;
    if (!Number.isInteger(first) || first < 1) fail('"match.first"', `must be a whole number >= 1, got ${first}`);
    info.first = first;
    counting = (seen) => seen <= first;
  }
  let probability: number | undefined;
  if (match.probability !== undefined) {
    const p = match.probability;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) fail('"match.probability"', `must be from 0 to 1, got ${p}`);
    probability = p;
    info.probability = p;
  }

  let seen = 0;
  const test = (context: StageContext): boolean => {
    for (const t of tests) if (!t(context)) return false;
    seen++;
    if (counting !== undefined && !counting(seen)) return false;
    return probability === undefined || random() < probability;
  };
  return { test, info, needsHeaders };
}

function addressPattern(pattern: unknown, field: string, fail: Fail): PatternMatcher {
  if (!(pattern instanceof RegExp) && (typeof pattern !== 'string' || pattern === '')) {
    return fail(`"${field}"`, 'must be a glob such as "*@example.com" or a RegExp ("/…/flags" in JSON)');
  }
  try {
    return compilePattern(pattern);
  } catch (error) {
    return fail(`"${field}"`, `cannot be used: ${(error as Error).message}`);
  }
}

function headerCondition(
  header: NonNullable<FaultMatch['header']>,
  fail: Fail,
): { test: (context: StageContext) => boolean; info: { name: string; value?: string } } {
  let name: string;
  let value: string | RegExp | undefined;
  if (typeof header === 'string') {
    const colon = header.indexOf(':');
    name = (colon < 0 ? header : header.slice(0, colon)).trim();
    const rest = colon < 0 ? '' : header.slice(colon + 1).trim();
    value = rest === '' ? undefined : rest;
  } else if (typeof header === 'object' && header !== null && typeof header.name === 'string') {
    name = header.name.trim();
    value = header.value;
  } else {
    return fail('"match.header"', 'must be "Name", "Name: value" or { name, value? }');
  }
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name))
    fail('"match.header"', `has an invalid header name ${JSON.stringify(name)}`);
  if (value !== undefined && typeof value !== 'string' && !(value instanceof RegExp)) {
    fail('"match.header.value"', 'must be a string (contained in the value) or a RegExp');
  }
  const key = name.toLowerCase();
  let re: PatternMatcher | undefined;
  try {
    re = value === undefined ? undefined : compileValuePattern(value);
  } catch (error) {
    fail('"match.header.value"', `cannot be used: ${(error as Error).message}`);
  }
  const info: { name: string; value?: string } = { name };
  if (value !== undefined) info.value = patternToJson(value);
  // One message is decided once (or once per LMTP recipient): parse its headers once.
  let lastRaw: Buffer | undefined;
  let lastParsed: Record<string, string[]> = {};
  return {
    info,
    test: (c) => {
      if (c.headers === undefined) return false;
      if (c.headers !== lastRaw) {
        lastRaw = c.headers;
        lastParsed = parseHeaderSection(c.headers);
      }
      const values = lastParsed[key];
      return values !== undefined && (re === undefined || values.some((v) => re.test(v)));
    },
  };
}

function greylistCondition(retryAfterMs: number): (context: StageContext) => boolean {
  const firstSeen = new Map<string, number>();
  return (c) => {
    if (c.recipient === undefined) return false;
    const pair = `${(c.transaction?.sender ?? '').toLowerCase()}\0${c.recipient.toLowerCase()}`;
    const now = Date.now();
    const first = firstSeen.get(pair);
    if (first === undefined) {
      // Bounded like a real greylisting daemon's database: the oldest pairs go first.
      if (firstSeen.size >= GREYLIST_LIMIT) firstSeen.delete(firstSeen.keys().next().value as string);
      firstSeen.set(pair, now);
      return true;
    }
    return now - first < retryAfterMs;
  };
}

function normalizeAction(
  action: FaultAction | string,
  stage: Stage,
  fail: Fail,
): {
  info: FaultAction;
  text: string;
  applies?: ((context: StageContext) => boolean) | undefined;
  decide: (random: Random, context: StageContext) => Decision;
} {
  if (typeof action === 'string') {
    const word = action.trim().toLowerCase();
    if (word === 'disconnect' || word === 'close' || word === 'reset')
      return normalizeAction({ type: word }, stage, fail);
    if (isPresetName(action))
      return normalizeAction({ type: 'preset', preset: action.trim() as ProviderPresetName }, stage, fail);
    const parsed = parseReply(action);
    if (typeof parsed === 'string') {
      return fail(
        '"action"',
        `as a string must be a reply such as "451 4.3.0 Try again later", or disconnect, close, reset; it ${parsed}`,
      );
    }
    return normalizeAction(replyAction(parsed), stage, fail);
  }
  if (typeof action !== 'object' || action === null) {
    return fail('"action"', 'must be an object such as { type: "reply", code: 451 } or a short form such as "451"');
  }
  const delay = (value: unknown, field: string): readonly [number, number] | undefined => {
    if (value === undefined) return undefined;
    return (
      toDelayRange(value) ??
      fail(`"action.${field}"`, 'must be whole milliseconds (0 to 3600000) or a [min, max] range')
    );
  };
  const withDelay = (decision: Decision, range: readonly [number, number] | undefined, random: Random): Decision => {
    if (range !== undefined) decision.delayMs = between(random, range[0], range[1]);
    return decision;
  };
  const delayText = (range: readonly [number, number] | undefined): string =>
    range === undefined ? '' : ` after ${range[0] === range[1] ? range[0] : `${range[0]}-${range[1]}`} ms`;

  switch (action.type) {
    case 'reply':
    case 'disconnect': {
      const isDisconnect = action.type === 'disconnect';
      const code = action.code ?? (isDisconnect ? 421 : undefined);
      if (typeof code !== 'number') return fail('"action.code"', 'is required for a reply, e.g. 451');
      let reply: Reply;
      try {
        reply = behaviourReplies.custom(code, action.enhanced, action.text);
      } catch (error) {
        return fail('"action"', `has a bad reply: ${(error as Error).message}`);
      }
      if (stage === 'message' && reply.code >= 300 && reply.code < 400) {
        fail('"action.code"', 'at stage "message" must be 2xx, 4xx or 5xx (the final reply to a message)');
      }
      // RFC 5321 §3.8: a 421 reply closes the channel, whatever the rule says.
      const close = isDisconnect || reply.code === 421 || (action.type === 'reply' && action.close === true);
      const range = delay(action.delayMs, 'delayMs');
      const enhanced = reply.enhanced === undefined ? {} : { enhanced: reply.enhanced };
      const info: FaultAction = isDisconnect
        ? { type: 'disconnect', code: reply.code, ...enhanced, text: reply.text as string }
        : { type: 'reply', code: reply.code, ...enhanced, text: reply.text as string, ...(close ? { close } : {}) };
      if (action.delayMs !== undefined) info.delayMs = action.delayMs;
      const text = `${isDisconnect ? 'disconnect' : 'reply'} ${replyToString(reply)}${close && !isDisconnect ? ', then close' : ''}${delayText(range)}`;
      return {
        info,
        text,
        decide: (random) => withDelay(close ? { reply, then: 'close' } : { reply }, range, random),
      };
    }
    case 'close':
    case 'reset': {
      const type = action.type;
      const range = delay(action.delayMs, 'delayMs');
      const info: { type: 'close' | 'reset'; delayMs?: DelayRange } = { type };
      if (action.delayMs !== undefined) info.delayMs = action.delayMs;
      return {
        info,
        text: `${type === 'close' ? 'close without a reply' : 'TCP reset'}${delayText(range)}`,
        decide: (random) => withDelay({ then: type === 'close' ? 'silent-close' : 'reset' }, range, random),
      };
    }
    case 'delay': {
      const range = delay(action.ms, 'ms') ?? fail('"action.ms"', 'is required: milliseconds or [min, max]');
      return {
        info: { type: 'delay', ms: action.ms },
        text: `delay${delayText(range).replace(' after', '')}`,
        decide: (random) => withDelay({}, range, random),
      };
    }
    case 'throttle': {
      const rate = action.bytesPerSecond;
      if (!Number.isInteger(rate) || rate < 1)
        fail('"action.bytesPerSecond"', `must be a whole number >= 1, got ${rate}`);
      return {
        info: { type: 'throttle', bytesPerSecond: rate },
        text: `throttle to ${rate} octets/s`,
        decide: () => ({ throttleBytesPerSecond: rate }),
      };
    }
    case 'stall': {
      const after = action.afterBytes;
      if (!Number.isInteger(after) || after < 0)
        fail('"action.afterBytes"', `must be a whole number >= 0, got ${after}`);
      return {
        info: { type: 'stall', afterBytes: after },
        text: `stop reading after ${after} octets`,
        decide: () => ({ stallAfterBytes: after }),
      };
    }
    case 'preset':
    case 'blocklist': {
      const preset = compilePresetAction(action, stage, fail);
      const range = delay(action.delayMs, 'delayMs');
      const info: FaultAction = { ...preset.info };
      if (action.delayMs !== undefined) info.delayMs = action.delayMs;
      const then = preset.close ? { then: 'close' as const } : {};
      return {
        info,
        text: `${preset.text}${delayText(range)}`,
        applies: preset.applies,
        decide: (random, context) => withDelay({ reply: preset.reply(context), ...then }, range, random),
      };
    }
    default:
      return fail(
        '"action.type"',
        `must be "reply", "disconnect", "close", "reset", "delay", "throttle", "stall", "preset" or "blocklist", got ${JSON.stringify((action as { type?: unknown }).type)}`,
      );
  }
}

function replyAction(reply: Reply): FaultAction {
  const enhanced = reply.enhanced === undefined ? {} : { enhanced: reply.enhanced };
  return { type: 'reply', code: reply.code, ...enhanced, text: reply.text as string };
}
