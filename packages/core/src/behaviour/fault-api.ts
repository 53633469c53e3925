import type { Live, Reach, Read } from '../record/reach.js';
import type { DelayRange, StageName } from './delays.js';
import type {
  BounceRecipientOptions,
  FailNextOptions,
  FaultFiring,
  FaultMatch,
  FaultRule,
  FaultRuleInfo,
  GreylistOptions,
} from './faults.js';
import type { AddressPattern } from './patterns.js';
import type { BlocklistOptions, PresetRuleOptions, ProviderPresetName } from './presets/index.js';

/** A fault rule that was added, in-process (`FaultHandle`) or remote (`RemoteFaultHandle`). */
export interface SinkFaultHandle<R extends Reach = Reach> {
  readonly name: string;
  /** How many times it fired so far. */
  readonly fired: Live<R, number>;
  /** False once removed or expired. */
  readonly active: Live<R, boolean>;
  /** Takes the rule out (a no-op when it already expired). */
  remove(): Read<R, void>;
}

/**
 * The fault rules of a sink, the same in-process (`sink.faults`, a `FaultRules`) and remotely
 * (`remote.faults`, a `RemoteFaultRules`): the same methods, meaning the same thing.
 *
 * @example await sink.faults.failNext(451); const [firing] = await sink.faults.fired();
 */
export interface SinkFaults<R extends Reach = Reach, H extends SinkFaultHandle<R> = SinkFaultHandle<R>> {
  /** Adds a rule (a `FaultRule` or its JSON form); throws (or rejects with) an error naming a bad field. */
  add(rule: FaultRule): Read<R, H>;
  /** Removes a rule by name; false when there was none. */
  remove(name: string): Read<R, boolean>;
  /** Removes every rule. */
  clear(): Read<R, void>;
  /** The rules in force, as JSON. */
  list(): Read<R, FaultRuleInfo[]>;
  /** The faults that fired (the last 1000), optionally of one rule or stage. */
  fired(filter?: { rule?: string; stage?: StageName }): Read<R, FaultFiring[]>;
  /** Forgets the faults that fired. */
  clearFired(): Read<R, void>;
  failNext(code?: number, options?: FailNextOptions): Read<R, H>;
  bounceRecipient(recipient: AddressPattern, code?: number, options?: BounceRecipientOptions): Read<R, H>;
  greylist(options?: GreylistOptions): Read<R, H>;
  disconnect(stage?: StageName, options?: { times?: number; match?: FaultMatch }): Read<R, H>;
  delay(stage: StageName, ms: DelayRange, options?: { times?: number; match?: FaultMatch }): Read<R, H>;
  /** Replies as a large mailbox provider documents it (`bounceReplies.providers`). */
  preset(preset: ProviderPresetName, options?: PresetRuleOptions): Read<R, H>;
  /** Answers as Postfix does for a client (or HELO name, sender, recipient domain) on a blocklist. */
  blocklist(blocklist: BlocklistOptions, options?: PresetRuleOptions): Read<R, H>;
}
