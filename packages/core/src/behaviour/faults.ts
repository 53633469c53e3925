import type { Decision, FiredFault, Stage, StageContext } from '../protocol/types.js';
import { type DelayRange, STAGE_NAMES, type StageName, stageOf } from './delays.js';
import { normalizeAction } from './fault-action.js';
import { compileMatch } from './fault-match.js';
import {
  type BounceRecipientOptions,
  type CompiledRule,
  type FailNextOptions,
  type FaultFiring,
  type FaultHandle,
  type FaultMatch,
  type FaultRule,
  FaultRuleError,
  type FaultRuleInfo,
  faultRule,
  type GreylistOptions,
} from './fault-rule.js';
import type { AddressPattern } from './patterns.js';
import {
  type BlocklistOptions,
  type PresetRuleOptions,
  type ProviderPresetName,
  presetStage,
} from './presets/index.js';
import { streamFor } from './random.js';

export type {
  BounceRecipientOptions,
  FailNextOptions,
  FaultAction,
  FaultFiring,
  FaultHandle,
  FaultMatch,
  FaultRule,
  FaultRuleInfo,
  GreylistOptions,
} from './fault-rule.js';
export { FaultRuleError, faultRule } from './fault-rule.js';

// The rule set of one sink (`sink.faults`): rules added and removed while it runs, tried in order,
// their firings remembered. A rule's shape lives in fault-rule.ts, its parts in fault-match.ts and
// fault-action.ts.

const HISTORY_LIMIT = 1000;

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

function ruleInfo(rule: CompiledRule): FaultRuleInfo {
  const info: FaultRuleInfo = { ...rule.info, fired: rule.fired };
  if (rule.remaining !== undefined) info.remaining = rule.remaining;
  return info;
}

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
