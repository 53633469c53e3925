import type { Reply } from '../protocol/reply.js';
import type { AuthProvider, Decision, StageContext, StagePolicy } from '../protocol/types.js';
import { delayFor } from './delays.js';
import { FaultRules } from './faults.js';
import { type BadSwitch, type HeaderSwitches, readHeaderSwitches } from './header-switches.js';
import { isPending } from './hooks.js';
import { MODES, type Mode, modeReply } from './modes.js';
import type { ListenerConfig, ResolvedBehaviour } from './options.js';
import { between, type Random, streamFor } from './random.js';
import { behaviourReplies } from './replies.js';

/** Something whose `policy` the behaviour sets: the session options of each listener. */
export interface PolicyTarget {
  policy: StagePolicy | undefined;
}

/**
 * Everything a sink answers beyond "250 OK": modes, delays, header switches, fault rules and
 * AUTH, built from its options. The sessions see a `StagePolicy` only while something is in
 * force, so a bare sink pays nothing per stage.
 */
export class SinkBehaviour {
  /** Seed of every random choice; start a sink with `seed` set to it to repeat a run. */
  readonly seed: number;
  readonly faults: FaultRules;
  readonly auth: AuthProvider | undefined;

  private readonly targets: PolicyTarget[] = [];
  private readonly policy: StagePolicy;
  private readonly modeRandom: Random;
  private readonly delayRandom: Random;
  private switchesFor: Buffer | undefined;
  private switches: HeaderSwitches | BadSwitch | undefined;

  constructor(
    private readonly config: ResolvedBehaviour,
    /** Your own policy (option `policy`), asked after the fault rules and before modes and delays. */
    private readonly custom: StagePolicy | undefined = undefined,
  ) {
    this.seed = config.seed;
    this.auth = config.auth;
    this.modeRandom = streamFor(config.seed, 'mode');
    this.delayRandom = streamFor(config.seed, 'delay');
    this.faults = new FaultRules(config.seed, () => this.update());
    for (const rule of config.faults) this.faults.add(rule);
    const self = this;
    this.policy = {
      decide: (context, proposed) => this.decide(context, proposed),
      get wantsHeaders() {
        return self.config.headerSwitches || self.faults.needsHeaders || (self.custom?.wantsHeaders ?? false);
      },
      get wantsMessage() {
        return self.custom?.wantsMessage ?? false;
      },
    };
  }

  /** True when random choices are in play, so a report should give the seed. */
  get usesRandom(): boolean {
    const random = (c: ListenerConfig): boolean =>
      c.mode !== 'accept' || [...c.delays.values()].some(([min, max]) => min !== max);
    return (
      random(this.config.base) ||
      [...this.config.listeners.values()].some(random) ||
      this.faults.list().some((r) => r.match.probability !== undefined) ||
      this.config.headerSwitches
    );
  }

  /**
   * Switches the sink-wide mode (and accept ratio) while the sink runs; listeners configured with
   * their own mode keep it. The next final reply follows the new mode.
   */
  setMode(mode: Mode, acceptRatio?: number): void {
    if (!(MODES as readonly unknown[]).includes(mode)) {
      throw new TypeError(`setMode: mode must be "accept", "bounce" or "random", got ${JSON.stringify(mode)}`);
    }
    if (acceptRatio !== undefined && !(typeof acceptRatio === 'number' && acceptRatio >= 0 && acceptRatio <= 1)) {
      throw new RangeError(`setMode: acceptRatio must be a number from 0 to 1, got ${JSON.stringify(acceptRatio)}`);
    }
    const config = this.config;
    config.base.mode = mode;
    if (acceptRatio !== undefined) config.base.acceptRatio = acceptRatio;
    const differs = (c: ListenerConfig): boolean => c.mode !== 'accept' || c.delays.size > 0;
    config.configured = config.headerSwitches || differs(config.base) || [...config.listeners.values()].some(differs);
    this.update();
  }

  /** Keeps `target.policy` set while behaviours are in force, and `undefined` otherwise. */
  attach(target: PolicyTarget): void {
    this.targets.push(target);
    target.policy = this.current();
  }

  private current(): StagePolicy | undefined {
    return this.config.configured || this.custom !== undefined || this.faults.size > 0 ? this.policy : undefined;
  }

  private update(): void {
    // Sessions read `policy` from their (shared) options at each stage: rules added while a
    // session runs apply to its next stage, and removing the last rule restores the fast path.
    const policy = this.current();
    for (const target of this.targets) target.policy = policy;
  }

  private decide(context: StageContext, proposed: Reply): Decision | undefined | PromiseLike<Decision | undefined> {
    if (this.faults.size > 0) {
      const fault = this.faults.decide(context);
      if (fault !== undefined) {
        // A fault that only slows things down (delay, throttle, stall) leaves the reply to the rest.
        if (fault.reply !== undefined || fault.then !== undefined) return fault;
        const rest = this.configured(context, proposed);
        const merge = (decided: Decision | undefined): Decision => {
          if (decided?.reply !== undefined) fault.reply = decided.reply;
          if (decided?.delayMs !== undefined) fault.delayMs = (fault.delayMs ?? 0) + decided.delayMs;
          if (decided?.decidedBy !== undefined && fault.fault !== undefined) {
            fault.decidedBy = `fault rule "${fault.fault.rule}" (${fault.fault.action}), then ${decided.decidedBy}`;
          }
          return fault;
        };
        return isPending(rest) ? rest.then(merge) : merge(rest);
      }
    }
    return this.configured(context, proposed);
  }

  /** The decision of the custom policy (hooks included), modes, delays and header switches. */
  private configured(context: StageContext, proposed: Reply): Decision | undefined | PromiseLike<Decision | undefined> {
    if (this.custom !== undefined) {
      const own = this.custom.decide(context, proposed);
      // Only an answer that is still pending costs a promise; the modes and delays follow once it settles.
      if (isPending(own)) return own.then((settled) => settled ?? this.builtIn(context, proposed));
      if (own !== undefined) return own;
    }
    return this.builtIn(context, proposed);
  }

  /** Modes, delays and header switches. */
  private builtIn(context: StageContext, proposed: Reply): Decision | undefined {
    // No mode, delay or header switch anywhere: the proposed reply stands, at once.
    if (!this.config.configured) return undefined;
    const config = this.config.listeners.get(context.connection.listener) ?? this.config.base;
    if (context.stage !== 'message') {
      const delayMs = config.delays.size === 0 ? 0 : delayFor(config.delays, context.stage, this.delayRandom);
      return delayMs > 0 ? { delayMs, decidedBy: `delay ${delayMs} ms (option delay)` } : undefined;
    }
    return this.finalReply(context, proposed, config);
  }

  /** The final reply to a message: header switches first, then the listener's mode and delay. */
  private finalReply(context: StageContext, proposed: Reply, config: ListenerConfig): Decision | undefined {
    let mode = config.mode;
    let acceptRatio = config.acceptRatio;
    let delay = config.delays.get('message');
    let fixed: Reply | undefined;
    let switched: HeaderSwitches | undefined;
    if (this.config.headerSwitches && context.headers !== undefined) {
      const switches = this.headerSwitches(context.headers);
      if (switches !== undefined) {
        if ('why' in switches) {
          return {
            reply: behaviourReplies.badSwitch(switches.header, switches.why),
            decidedBy: `header ${switches.header} (unusable: ${switches.why})`,
          };
        }
        mode = switches.mode ?? mode;
        acceptRatio = switches.acceptRatio ?? acceptRatio;
        delay = switches.delay ?? delay;
        fixed = switches.reply;
        switched = switches;
      }
    }
    // A refusal the engine decided (too big, line too long) stands whatever the switches say.
    const reply =
      fixed !== undefined && proposed.code < 300 ? fixed : modeReply(mode, acceptRatio, proposed, this.modeRandom);
    // Under LMTP the message is decided once per recipient; its delay is waited once, before the first reply.
    const later = context.recipient !== undefined && context.recipient !== context.transaction?.recipients[0]?.address;
    const delayMs = delay === undefined || later ? 0 : between(this.delayRandom, delay[0], delay[1]);
    if (reply === proposed && delayMs === 0) return undefined;
    const decision: Decision = {
      decidedBy: finalReason(mode, acceptRatio, reply === proposed, fixed, switched, delayMs),
    };
    if (reply !== proposed) decision.reply = reply;
    if (delayMs > 0) decision.delayMs = delayMs;
    return decision;
  }

  /** Under LMTP the same header section is decided once per recipient: read it once. */
  private headerSwitches(headers: Buffer): HeaderSwitches | BadSwitch | undefined {
    if (headers !== this.switchesFor) {
      this.switchesFor = headers;
      this.switches = readHeaderSwitches(headers);
    }
    return this.switches;
  }
}

/** Why the final reply is what it is, in words: header switches, mode, delay. */
function finalReason(
  mode: string,
  acceptRatio: number,
  unchanged: boolean,
  fixed: Reply | undefined,
  switched: HeaderSwitches | undefined,
  delayMs: number,
): string {
  const parts: string[] = [];
  if (switched !== undefined) {
    const names = Object.entries(switched).map(([key, value]) =>
      key === 'reply'
        ? `reply ${(value as Reply).code}`
        : key === 'delay'
          ? `delay ${delayMs} ms`
          : key === 'acceptRatio'
            ? `accept ratio ${value}`
            : `${key} ${value}`,
    );
    parts.push(`header switch (${names.join(', ')})`);
  }
  if (fixed === undefined || !unchanged) {
    if (mode === 'random')
      parts.push(`mode random (accept ratio ${acceptRatio}: ${unchanged ? 'accepted' : 'bounced'})`);
    else if (mode !== 'accept' && switched?.mode === undefined) parts.push(`mode ${mode}`);
  }
  if (delayMs > 0 && switched?.delay === undefined) parts.push(`delay ${delayMs} ms`);
  return parts.length > 0 ? parts.join(', ') : 'mode accept';
}
