import { URLSearchParams } from 'node:url';
import { types } from 'node:util';
import type { DelayRange, StageName } from '../behaviour/delays.js';
import {
  type BounceRecipientOptions,
  type FailNextOptions,
  type FaultFiring,
  type FaultMatch,
  type FaultRule,
  FaultRuleError,
  type FaultRuleInfo,
  faultRule,
  type GreylistOptions,
} from '../behaviour/faults.js';
import type { AddressPattern } from '../behaviour/patterns.js';
import type { BlocklistOptions, PresetRuleOptions, ProviderPresetName } from '../behaviour/presets/index.js';
import { type ApiClient, RemoteError } from './api-client.js';

/**
 * A rule a remote sink holds, as `sink.faults.add` returns it in-process; what the in-process
 * handle reads as properties (`fired`, `active`) are async methods here.
 */
export interface RemoteFaultHandle {
  readonly name: string;
  /** The rule as the sink stored it (JSON, defaults applied), when it was added. */
  readonly rule: FaultRuleInfo;
  /** How many times it fired so far. */
  fired(): Promise<number>;
  /** False once removed or expired. */
  active(): Promise<boolean>;
  /** Takes the rule out (a no-op when it already expired). */
  remove(): Promise<void>;
}

/**
 * The fault rules of a sink in another process, over `/api/faults`: the methods of the in-process
 * `sink.faults`, async. Rules travel as JSON: a RegExp pattern goes as a `"/…/flags"` string, and a
 * `match.when` function, which cannot travel, is refused with a `FaultRuleError`.
 *
 * @example const rule = await remote.faults.bounceRecipient('gone@test'); await send(); await rule.remove();
 */
export class RemoteFaultRules {
  /** @internal use `connectSink(url).faults` */
  constructor(private readonly client: ApiClient) {}

  /**
   * Adds a rule and resolves with a handle to remove it. Rejects with a `FaultRuleError` naming the
   * field when the sink cannot use the rule, as `sink.faults.add` throws in-process.
   */
  async add(rule: FaultRule): Promise<RemoteFaultHandle> {
    const json = ruleToJson(rule);
    let answer: { fault: FaultRuleInfo };
    try {
      answer = await this.client.json<{ fault: FaultRuleInfo }>('POST', '/api/faults', undefined, json);
    } catch (error) {
      // The sink's own words: the same message the in-process add throws.
      if (error instanceof RemoteError && error.status === 400 && error.detail !== undefined) {
        throw new FaultRuleError(error.detail, { cause: error });
      }
      throw error;
    }
    const { name } = answer.fault;
    return {
      name,
      rule: answer.fault,
      fired: async () => {
        const listed = (await this.list()).find((r) => r.name === name);
        return listed?.fired ?? (await this.fired({ rule: name })).length;
      },
      active: async () => (await this.list()).some((r) => r.name === name),
      remove: async () => {
        await this.remove(name);
      },
    };
  }

  /** Removes the rule with this name; false when there is none. */
  async remove(name: string): Promise<boolean> {
    const answer = await this.client.send('DELETE', `/api/faults/${encodeURIComponent(name)}`, undefined, [404]);
    return answer.status !== 404;
  }

  /** Removes every rule (the record of firings stays: see `fired()`). */
  async clear(): Promise<void> {
    await this.client.json('DELETE', '/api/faults');
  }

  /** The active rules as JSON, with how often each fired. */
  async list(): Promise<FaultRuleInfo[]> {
    return (await this.client.json<{ faults: FaultRuleInfo[] }>('GET', '/api/faults')).faults;
  }

  /** Faults that fired (the last 1000), oldest first, optionally of one rule or stage. */
  async fired(filter: { rule?: string; stage?: StageName } = {}): Promise<FaultFiring[]> {
    const params = new URLSearchParams();
    if (filter.rule !== undefined) params.set('rule', filter.rule);
    if (filter.stage !== undefined) params.set('stage', filter.stage);
    const query = params.toString();
    return (await this.client.json<{ fired: FaultFiring[] }>('GET', `/api/fired${query ? `?${query}` : ''}`)).fired;
  }

  /** Forgets the record of firings (the rules stay). */
  async clearFired(): Promise<void> {
    await this.client.json('DELETE', '/api/fired');
  }

  // --- short forms: the same `faultRule` builders the in-process ones add --------------------------

  /**
   * Fails the next `count` messages (default 1) at the end of data with `code` (default 451).
   *
   * @example await remote.faults.failNext(554, { text: 'Spam detected' });
   */
  failNext(code?: number, options?: FailNextOptions): Promise<RemoteFaultHandle> {
    return this.add(faultRule.failNext(code, options));
  }

  /**
   * Refuses a recipient at RCPT (default `550 5.1.1`) until the rule is removed.
   *
   * @example await remote.faults.bounceRecipient(/^full-/, 552);
   */
  bounceRecipient(
    recipient: AddressPattern,
    code?: number,
    options?: BounceRecipientOptions,
  ): Promise<RemoteFaultHandle> {
    return this.add(faultRule.bounceRecipient(recipient, code, options));
  }

  /**
   * Greylisting: the first attempt of each sender/recipient pair gets `451 4.7.1` at RCPT; a retry
   * passes (once `retryAfterMs` has passed since the first attempt, default at once).
   *
   * @example await remote.faults.greylist({ retryAfterMs: 1000 });
   */
  async greylist(options?: GreylistOptions): Promise<RemoteFaultHandle> {
    // Named as in-process (greylist-1, greylist-2 …), so records read the same wherever the rule was added.
    const taken = new Set((await this.list()).map((r) => r.name));
    let n = 1;
    while (taken.has(`greylist-${n}`)) n++;
    return this.add({ name: `greylist-${n}`, ...faultRule.greylist(options) });
  }

  /**
   * Answers `421` and closes the connection at a stage (default: the next message), `times` times (default 1).
   *
   * @example await remote.faults.disconnect('rcpt');
   */
  disconnect(stage?: StageName, options?: { times?: number; match?: FaultMatch }): Promise<RemoteFaultHandle> {
    return this.add(faultRule.disconnect(stage, options));
  }

  /**
   * Delays a stage's reply by `ms` (or a `[min, max]` range) until removed.
   *
   * @example await remote.faults.delay('greeting', 5000);
   */
  delay(
    stage: StageName,
    ms: DelayRange,
    options?: { times?: number; match?: FaultMatch },
  ): Promise<RemoteFaultHandle> {
    return this.add(faultRule.delay(stage, ms, options));
  }

  /**
   * Replies as a large mailbox provider does (see `bounceReplies.providers`).
   *
   * @example await remote.faults.preset('gmail.unknownUser', { recipient: '*@gone.test' });
   */
  preset(preset: ProviderPresetName, options?: PresetRuleOptions): Promise<RemoteFaultHandle> {
    return this.add(faultRule.preset(preset, options));
  }

  /**
   * Acts as if the client (or its HELO name, sender or recipient domain) were on a blocklist, with Postfix's reply.
   *
   * @example await remote.faults.blocklist({ list: 'zen.spamhaus.org', listed: 'all' });
   */
  blocklist(blocklist: BlocklistOptions, options?: PresetRuleOptions): Promise<RemoteFaultHandle> {
    return this.add(faultRule.blocklist(blocklist, options));
  }
}

/**
 * A rule as the JSON `/api/faults` takes: RegExps as `"/…/flags"` strings. Anything else that is
 * wrong is left for the sink to name, so the messages match the in-process ones.
 */
export function ruleToJson(rule: FaultRule): FaultRule {
  if (typeof rule !== 'object' || rule === null) return rule;
  const match = rule.match;
  if (typeof match !== 'object' || match === null) return rule;
  if (match.when !== undefined) {
    throw new FaultRuleError(
      `sink.faults.add: fault rule "${rule.name ?? '(unnamed)'}": "match.when" is a function, which cannot be sent to a sink in another process; use the JSON conditions (sender, recipient, header, listener, nth, first, probability, greylist), or add the rule in the process that started the sink`,
    );
  }
  const json: FaultMatch = { ...match };
  if (match.sender !== undefined) json.sender = patternJson(match.sender);
  if (match.recipient !== undefined) json.recipient = patternJson(match.recipient);
  const header = match.header;
  if (typeof header === 'object' && header !== null && header.value !== undefined) {
    json.header = { name: header.name, value: patternJson(header.value) };
  }
  return { ...rule, match: json };
}

/** `types.isRegExp` rather than `instanceof`: a RegExp made in a test environment's realm (jsdom) counts too. */
function patternJson<T>(pattern: T): T | string {
  if (!types.isRegExp(pattern)) return pattern;
  const re = pattern as unknown as RegExp;
  return `/${re.source}/${re.flags}`;
}
