import { parseHeaderSection } from '../protocol/header-section.js';
import type { Stage, StageContext } from '../protocol/types.js';
import type { FaultMatch, FaultRuleInfo } from './fault-rule.js';
import { compilePattern, compileValuePattern, type PatternMatcher, patternToJson } from './patterns.js';
import type { Random } from './random.js';

// Matching: a rule's `match` checked and compiled into a test of the stage context (counting,
// probability, sender/recipient patterns, headers, listener, greylisting).

const GREYLIST_LIMIT = 100_000;

/** @internal the error a rule's checks throw: `field` and what it must be. */
export type Fail = (field: string, what: string) => never;

/** @internal checks and compiles a rule's `match`. */
export function compileMatch(
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
