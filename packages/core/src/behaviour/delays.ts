import type { Stage } from '../protocol/types.js';
import { between, type Random } from './random.js';

/** Milliseconds, fixed or a `[min, max]` range (a whole number picked evenly, both ends included). */
export type DelayRange = number | readonly [min: number, max: number];

/** A stage name as delays and fault rules accept it: the session's stages, plus `greeting` for `connect`. */
export type StageName = Stage | 'greeting';

/**
 * How long the sink waits before a reply: one delay (or range) for the final reply to a message,
 * as the black-hole MTA did, or a delay per stage.
 *
 * @example startSink({ delay: [100, 500] }); startSink({ delay: { greeting: 2000, rcpt: 50 } });
 */
export type DelayOption = DelayRange | { readonly [S in StageName]?: DelayRange };

/** Resolved delays: a `[min, max]` per stage that has one. */
export type Delays = ReadonlyMap<Stage, readonly [number, number]>;

export const STAGES: readonly Stage[] = [
  'connect',
  'helo',
  'starttls',
  'auth',
  'mail',
  'rcpt',
  'data',
  'message',
  'rset',
  'quit',
];

/** `greeting` → `connect`, `ehlo`/`lhlo` → `helo`; `undefined` for a name that is no stage. */
export function stageOf(name: unknown): Stage | undefined {
  if (typeof name !== 'string') return undefined;
  const lower = name.toLowerCase();
  if (lower === 'greeting') return 'connect';
  if (lower === 'ehlo' || lower === 'lhlo') return 'helo';
  if (lower === 'bdat') return 'message';
  return (STAGES as readonly string[]).includes(lower) ? (lower as Stage) : undefined;
}

export const STAGE_NAMES = `"greeting" (or "connect"), ${STAGES.slice(1)
  .map((s) => `"${s}"`)
  .join(', ')}`;

/** Checks a delay option and turns it into a `[min, max]` per stage; errors name the option (`where "name"`). */
export function resolveDelays(value: unknown, name: string, where: string): Map<Stage, readonly [number, number]> {
  const out = new Map<Stage, readonly [number, number]>();
  if (value === undefined) return out;
  if (typeof value === 'number' || Array.isArray(value)) {
    out.set('message', delayRange(value, name, where));
    return out;
  }
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`${where} "${name}" must be milliseconds, a [min, max] range or an object of delays by stage`);
  }
  for (const [key, range] of Object.entries(value)) {
    const stage = stageOf(key);
    if (stage === undefined) {
      throw new TypeError(`${where} "${name}" has an unknown stage "${key}" (stages: ${STAGE_NAMES})`);
    }
    out.set(stage, delayRange(range, `${name}.${key}`, where));
  }
  return out;
}

/** Longest delay an option, a flag or a fault rule may ask for. */
export const MAX_DELAY_MS = 3_600_000;

/** A `DelayRange` as `[min, max]`; `undefined` when it is not whole milliseconds up to `MAX_DELAY_MS` with min <= max. */
export function toDelayRange(value: unknown): readonly [number, number] | undefined {
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_DELAY_MS;
  if (ok(value)) return [value, value];
  if (Array.isArray(value) && value.length === 2 && ok(value[0]) && ok(value[1]) && value[0] <= value[1]) {
    return [value[0], value[1]];
  }
  return undefined;
}

function delayRange(value: unknown, name: string, where: string): readonly [number, number] {
  const range = toDelayRange(value);
  if (range !== undefined) return range;
  throw new RangeError(
    `${where} "${name}" must be whole milliseconds from 0 to 3600000, or a [min, max] range with min <= max, got ${JSON.stringify(value)}`,
  );
}

/** The delay to apply now for a stage, drawn from its range; 0 when it has none. */
export function delayFor(delays: Delays, stage: Stage, random: Random): number {
  const range = delays.get(stage);
  return range === undefined ? 0 : between(random, range[0], range[1]);
}
