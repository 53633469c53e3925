import { addressSpellings, normalizeAddress } from '../protocol/address-compare.js';
import { linearPattern } from './linear-pattern.js';

/**
 * An address pattern: a glob where `*` is any run of characters and `?` one character
 * (`*@example.com`, `user-?@test`), or a RegExp. In JSON a RegExp is written as a string
 * `"/^bounce-\\d+@/i"`. Globs compare case-insensitively and must match the whole address.
 * Domains match in either spelling (`*@例子.test` matches `a@xn--fsqu00a.test` and back).
 *
 * Patterns written as text (globs, `"/…/flags"` strings: what the control API, `--fault` and config
 * files carry) run on a linear-time matcher, so no pattern can freeze the sink; it refuses
 * back-references and lookaround. A RegExp object passed in-process runs on JavaScript's own
 * engine, as given: its running time is the caller's choice.
 */
export type AddressPattern = string | RegExp;

/** What a compiled pattern offers: RegExp and the linear matcher both have it. */
export interface PatternMatcher {
  test(text: string): boolean;
}

const REGEXP_LITERAL = /^\/(.+)\/([a-z]*)$/s;

/** The pattern as a matcher: a RegExp as given, a `"/…/flags"` string or a glob on the linear matcher. */
export function compilePattern(pattern: AddressPattern): PatternMatcher {
  if (pattern instanceof RegExp) return stateless(pattern);
  const literal = REGEXP_LITERAL.exec(pattern);
  if (literal !== null) return linearPattern(literal[1] as string, literal[2]);
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return linearPattern(`^${body}$`, 'is');
}

/**
 * An address pattern as a test of one address. A glob is compared with both sides' domains in
 * IDNA ASCII form; a RegExp is tried on the address as sent and with its domain spelled in ASCII
 * and in Unicode, so a pattern written in either spelling matches mail sent in the other.
 */
export function compileAddressPattern(pattern: AddressPattern): PatternMatcher {
  const re = compilePattern(pattern);
  if (pattern instanceof RegExp || REGEXP_LITERAL.test(pattern)) {
    return { test: (address) => addressSpellings(address).some((spelling) => re.test(spelling)) };
  }
  const glob = compilePattern(normalizeAddress(pattern));
  return { test: (address) => glob.test(normalizeAddress(address)) };
}

/** A string that means "substring" unless written as `"/…/flags"`. */
export function compileValuePattern(pattern: string | RegExp): PatternMatcher {
  if (pattern instanceof RegExp || REGEXP_LITERAL.test(pattern)) return compilePattern(pattern);
  return { test: (text) => text.includes(pattern) };
}

/** A pattern as JSON: RegExps become `"/source/flags"` strings, which `compilePattern` reads back. */
export function patternToJson(pattern: AddressPattern): string {
  return pattern instanceof RegExp ? `/${pattern.source}/${pattern.flags}` : pattern;
}

// `g` and `y` make `test` remember where it stopped: a rule must give the same answer every time.
function stateless(re: RegExp): RegExp {
  return re.global || re.sticky ? new RegExp(re.source, re.flags.replace(/[gy]/g, '')) : re;
}
