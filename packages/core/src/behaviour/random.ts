import { randomInt } from 'node:crypto';

/** A source of numbers in [0, 1), like `Math.random`, but repeatable from a seed. */
export type Random = () => number;

/** A fresh seed (an unsigned 32-bit integer) for a run that did not give one. */
export function randomSeed(): number {
  return randomInt(0, 2 ** 32);
}

/**
 * Mulberry32: small, fast, and good enough to pick replies and delays. The same seed always
 * gives the same sequence, which is what lets a failing run be repeated.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An independent stream for one consumer (the mode, the delays, one fault rule), so that adding
 * a rule or a delay never shifts the sequence of replies another consumer sees for the same seed.
 */
export function streamFor(seed: number, name: string): Random {
  // FNV-1a of the name, mixed into the seed.
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return seededRandom((seed ^ hash) >>> 0);
}

/** A whole number from `min` to `max`, both included. */
export function between(random: Random, min: number, max: number): number {
  return min === max ? min : min + Math.floor(random() * (max - min + 1));
}
