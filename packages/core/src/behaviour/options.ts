import type { AuthProvider, Stage } from '../protocol/types.js';
import { AUTH_MECHANISMS, type AuthMechanism, type AuthOptions, createAuthProvider } from './auth.js';
import { type DelayOption, resolveDelays } from './delays.js';
import { compileRule, type FaultRule } from './faults.js';
import { checkHooks, type SinkHooks } from './hooks.js';
import { DEFAULT_ACCEPT_RATIO, MODES, type Mode } from './modes.js';
import { type Rejection, rejectionRules } from './presets/index.js';
import { randomSeed } from './random.js';
import { bounceCodes } from './replies.js';

/** Mode and delays for one listener of a sink that serves several (plain and implicit TLS). */
export interface ListenerBehaviour {
  mode?: Mode;
  acceptRatio?: number;
  delay?: DelayOption;
  /** Real-world rejections on this listener only (see `BehaviourOptions.rejections`). */
  rejections?: Rejection[];
}

/** Listener names: `smtp` (plain, or `lmtp` with `lmtp: true`) and `smtps` (implicit TLS). */
export type ListenerName = 'smtp' | 'smtps' | 'lmtp';

/**
 * What the sink answers, beyond accepting everything: the black-hole MTA's modes and delays,
 * header switches, fault rules and AUTH.
 *
 * @example startSink({ mode: 'random', acceptRatio: 0.8, seed: 42, delay: [0, 200] });
 */
export interface BehaviourOptions {
  /**
   * Final reply to each message: `accept` (default), `bounce` (one of 450, 451, 452, 458, 521,
   * 550, 551, 552, 553, 571) or `random` (accepts `acceptRatio` of them, bounces the rest).
   */
  mode?: Mode;
  /** Share of messages `random` mode accepts, from 0 to 1. Default 0.5. */
  acceptRatio?: number;
  /** Seed of every random choice (mode, delay ranges, fault probabilities). Default: random, see `sink.seed`. */
  seed?: number;
  /** Milliseconds before the final reply (a number or `[min, max]`), or per stage: `{ greeting: 1000, rcpt: [0, 50] }`. */
  delay?: DelayOption;
  /**
   * Honour per-message header switches (`X-Blackhole-Mode`, `X-Blackhole-Delay`, `X-Mailhole-Mode`,
   * `X-Mailhole-Delay`, `X-Mailhole-Reply`, `X-Mailhole-Accept-Ratio`). Default: on when the sink has
   * any other behaviour option (mode, acceptRatio, seed, delay, faults, listeners); a bare sink skips
   * them so its default path stays fast. `true` turns them on alone, `false` off.
   */
  headerSwitches?: boolean;
  /** Fault rules in force from the start (more can be added with `sink.faults.add`). */
  faults?: FaultRule[];
  /**
   * Real-world rejections in force from the start, added as fault rules after `faults`: provider
   * presets by name (`'gmail.unknownUser'`, see `bounceReplies.providers`), with where and for whom
   * (`{ preset: 'gmail.mailboxFull', recipient: 'full@test' }`), or blocklists answered as Postfix
   * does (`{ list: 'zen.spamhaus.org', listed: ['192.0.2.0/24'] }`). No DNS query is made.
   */
  rejections?: Rejection[];
  /** Mode and delays per listener, over the sink-wide ones: `{ smtps: { mode: 'bounce' } }`. */
  listeners?: Partial<Record<ListenerName, ListenerBehaviour>>;
  /**
   * AUTH (RFC 4954). Default `true`: AUTH is offered and any user and password are accepted, so a
   * client configured with credentials works unchanged (as with the black-hole MTA, Mailpit or
   * smtp4dev). `false` offers no AUTH; an object sets users, mechanisms and `requireTls`; an
   * `AuthProvider` is your own implementation.
   *
   * @example startSink({ auth: { users: { ada: 's3cret' } } }); // others get 535 5.7.8
   */
  auth?: boolean | AuthOptions | AuthProvider;
  /** Refuse MAIL with `530 5.7.0` until the client authenticated (AUTH must be on: it is by default). */
  requireAuth?: boolean;
  /**
   * Your code deciding the replies, a function per stage, synchronous or async; see `SinkHooks`.
   * An `auth` hook needs AUTH on (the default).
   */
  hooks?: SinkHooks;
}

/** Option names of `BehaviourOptions`, for the unknown-option check. */
export const BEHAVIOUR_OPTIONS: readonly string[] = [
  'mode',
  'acceptRatio',
  'seed',
  'delay',
  'headerSwitches',
  'faults',
  'rejections',
  'listeners',
  'auth',
  'requireAuth',
  'hooks',
];

/** Mode, ratio and delays in force on one listener. */
export interface ListenerConfig {
  mode: Mode;
  acceptRatio: number;
  delays: ReadonlyMap<Stage, readonly [number, number]>;
}

/** Behaviour options checked and with defaults applied. */
export interface ResolvedBehaviour {
  seed: number;
  headerSwitches: boolean;
  /** Sink-wide mode and delays. */
  base: ListenerConfig;
  /** Per-listener configs (only those that differ). */
  listeners: ReadonlyMap<string, ListenerConfig>;
  /** Initial fault rules (checked). */
  faults: readonly FaultRule[];
  auth: AuthProvider | undefined;
  hooks: SinkHooks | undefined;
  /** True when a mode, delay or header switch is in force (fault rules aside). */
  configured: boolean;
}

const WHERE = 'startSink: option';

/** AUTH when the user says nothing: offered, any credentials accepted (see `BehaviourOptions.auth`). */
export const DEFAULT_AUTH = true;

/** Checks the behaviour options; errors name the option and say what to write instead. */
export function resolveBehaviour(
  options: BehaviourOptions,
  context: { hostname: string; tls: 'none' | 'starttls' | 'implicit' | 'both' },
): ResolvedBehaviour {
  const seed = options.seed ?? randomSeed();
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`${WHERE} "seed" must be a whole number from 0 to 4294967295, got ${JSON.stringify(seed)}`);
  }
  const base = listenerConfig(options, '', undefined);
  const listeners = new Map<string, ListenerConfig>();
  if (options.listeners !== undefined) {
    if (typeof options.listeners !== 'object' || options.listeners === null) {
      throw new TypeError(`${WHERE} "listeners" must be an object such as { smtps: { mode: 'bounce' } }`);
    }
    for (const [name, value] of Object.entries(options.listeners)) {
      if (!['smtp', 'smtps', 'lmtp'].includes(name)) {
        throw new TypeError(`${WHERE} "listeners" has an unknown listener "${name}" (listeners: smtp, smtps, lmtp)`);
      }
      if (value === undefined) continue;
      if (typeof value !== 'object' || value === null) {
        throw new TypeError(`${WHERE} "listeners.${name}" must be an object { mode?, acceptRatio?, delay? }`);
      }
      for (const key of Object.keys(value)) {
        if (!['mode', 'acceptRatio', 'delay', 'rejections'].includes(key)) {
          throw new TypeError(
            `${WHERE} "listeners.${name}.${key}" is unknown (per listener: mode, acceptRatio, delay, rejections)`,
          );
        }
      }
      listeners.set(name, listenerConfig(value, `listeners.${name}.`, base));
    }
  }

  const given = options.faults ?? [];
  if (!Array.isArray(given)) throw new TypeError(`${WHERE} "faults" must be an array of fault rules`);
  const names = new Set<string>();
  const extra = rejections(options);
  const faults = [...given, ...extra.rules];
  faults.forEach((rule, i) => {
    const field = i < given.length ? `faults[${i}]` : (extra.fields[i - given.length] as string);
    // Compiled once here only to check it: the sink compiles its own copy with live counters.
    compileRule(rule, rule?.name ?? field, seed, `${WHERE} "${field}":`);
    if (rule.name !== undefined && names.has(rule.name)) {
      throw new TypeError(`${WHERE} "${field}" reuses the name "${rule.name}": each rule needs its own`);
    }
    if (rule.name !== undefined) names.add(rule.name);
  });

  const differs = (c: ListenerConfig): boolean => c.mode !== 'accept' || c.delays.size > 0;
  const anyOption = ['mode', 'acceptRatio', 'seed', 'delay', 'faults', 'rejections', 'listeners'].some(
    (key) => (options as Record<string, unknown>)[key] !== undefined,
  );
  const headerSwitches = options.headerSwitches ?? anyOption;
  if (typeof headerSwitches !== 'boolean') {
    throw new TypeError(`${WHERE} "headerSwitches" must be true or false, got ${JSON.stringify(headerSwitches)}`);
  }
  return {
    seed,
    headerSwitches,
    base,
    listeners,
    faults,
    auth: resolveAuth(options, context),
    hooks: checkHooks(options.hooks, WHERE),
    configured: headerSwitches || differs(base) || [...listeners.values()].some(differs),
  };
}

/** The `rejections` options (sink-wide, then per listener) as fault rules with fresh names. */
function rejections(options: BehaviourOptions): { rules: FaultRule[]; fields: string[] } {
  const taken = new Set<string>();
  for (const rule of options.faults ?? []) if (typeof rule?.name === 'string') taken.add(rule.name);
  const rules: FaultRule[] = [];
  const fields: string[] = [];
  const add = (value: unknown, field: string, listener?: string): void => {
    const added = rejectionRules(value, field, taken, listener) as FaultRule[];
    rules.push(...added);
    fields.push(...added.map((_, i) => `${field}[${i}]`));
  };
  if (options.rejections !== undefined) add(options.rejections, 'rejections');
  for (const [name, value] of Object.entries(options.listeners ?? {})) {
    if (value?.rejections !== undefined) add(value.rejections, `listeners.${name}.rejections`, name);
  }
  return { rules, fields };
}

function listenerConfig(
  value: ListenerBehaviour,
  prefix: string,
  fallback: ListenerConfig | undefined,
): ListenerConfig {
  const mode = value.mode ?? fallback?.mode ?? 'accept';
  if (!MODES.includes(mode)) {
    throw new TypeError(
      `${WHERE} "${prefix}mode" must be "accept", "bounce" (one of ${bounceCodes.join(', ')}) or "random", got ${JSON.stringify(mode)}`,
    );
  }
  const acceptRatio = value.acceptRatio ?? fallback?.acceptRatio ?? DEFAULT_ACCEPT_RATIO;
  if (typeof acceptRatio !== 'number' || !(acceptRatio >= 0 && acceptRatio <= 1)) {
    throw new RangeError(
      `${WHERE} "${prefix}acceptRatio" must be a number from 0 to 1, got ${JSON.stringify(acceptRatio)}`,
    );
  }
  const own = resolveDelays(value.delay, `${prefix}delay`, WHERE);
  const delays = new Map(fallback?.delays ?? []);
  for (const [stage, range] of own) delays.set(stage, range);
  return { mode, acceptRatio, delays };
}

function resolveAuth(
  options: BehaviourOptions,
  context: { hostname: string; tls: 'none' | 'starttls' | 'implicit' | 'both' },
): AuthProvider | undefined {
  const required = options.requireAuth ?? false;
  if (typeof required !== 'boolean') {
    throw new TypeError(`${WHERE} "requireAuth" must be true or false, got ${JSON.stringify(required)}`);
  }
  // The one place the AUTH default lives: startSink and `mailhole serve` both come through here.
  const auth = options.auth ?? DEFAULT_AUTH;
  if (auth === false) {
    if (required) throw new TypeError(`${WHERE} "requireAuth" needs AUTH: remove auth: false or set auth: true`);
    return undefined;
  }
  if (typeof auth === 'object' && auth !== null && typeof (auth as AuthProvider).begin === 'function') {
    const provider = auth as AuthProvider;
    if (!required || provider.required) return provider;
    return {
      mechanisms: provider.mechanisms,
      required: true,
      requireTls: provider.requireTls,
      begin: (mechanism, stage) => provider.begin(mechanism, stage),
    };
  }
  const settings: AuthOptions = auth === true ? {} : (auth as AuthOptions);
  if (typeof settings !== 'object' || settings === null) {
    throw new TypeError(`${WHERE} "auth" must be true, { users?, mechanisms?, requireTls? } or an AuthProvider`);
  }
  for (const key of Object.keys(settings)) {
    if (!['users', 'mechanisms', 'requireTls'].includes(key)) {
      throw new TypeError(`${WHERE} "auth.${key}" is unknown (auth options: users, mechanisms, requireTls)`);
    }
  }
  let users: Map<string, string> | undefined;
  if (settings.users !== undefined) {
    if (typeof settings.users !== 'object' || settings.users === null) {
      throw new TypeError(`${WHERE} "auth.users" must be an object of user names and passwords: { alice: 's3cret' }`);
    }
    users = new Map();
    for (const [user, password] of Object.entries(settings.users)) {
      if (typeof password !== 'string') {
        // The value is a credential: the message names the user only.
        throw new TypeError(`${WHERE} "auth.users" must map each user to a string password; "${user}" has none`);
      }
      users.set(user, password);
    }
  }
  const mechanisms = settings.mechanisms ?? AUTH_MECHANISMS;
  if (
    !Array.isArray(mechanisms) ||
    mechanisms.length === 0 ||
    !mechanisms.every((m) => AUTH_MECHANISMS.includes(m as AuthMechanism))
  ) {
    throw new TypeError(
      `${WHERE} "auth.mechanisms" must be a non-empty list of ${AUTH_MECHANISMS.join(', ')}, got ${JSON.stringify(mechanisms)}`,
    );
  }
  const requireTls = settings.requireTls ?? false;
  if (typeof requireTls !== 'boolean') {
    throw new TypeError(`${WHERE} "auth.requireTls" must be true or false, got ${JSON.stringify(requireTls)}`);
  }
  if (requireTls && context.tls === 'none') {
    throw new TypeError(`${WHERE} "auth.requireTls" needs TLS: set tls to "starttls", "implicit" or "both"`);
  }
  return createAuthProvider({
    users,
    mechanisms: [...new Set(mechanisms)],
    required,
    requireTls,
    hostname: context.hostname,
  });
}
