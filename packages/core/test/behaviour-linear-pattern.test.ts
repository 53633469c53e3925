import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { linearPattern, PatternError } from '../src/behaviour/linear-pattern.js';
import { compilePattern } from '../src/behaviour/patterns.js';

/** Patterns in the supported subset, built from pieces, so RegExp can be the oracle. */
const atom = fc.constantFrom(
  'a',
  'b',
  '.',
  '\\d',
  '\\w',
  '\\s',
  '\\W',
  '[ab]',
  '[^a]',
  '[a-c]',
  '@',
  '\\.',
  'A',
  '(?:ab|b)',
  '(a|)',
  '\\b',
  '^',
  '$',
);
const quantifier = fc.constantFrom('', '', '*', '+', '?', '{2}', '{1,3}', '{0,}', '*?', '+?');
const piece = fc
  .tuple(atom, quantifier)
  .map(([a, q]) => (q !== '' && (a === '^' || a === '$' || a === '\\b') ? a : a + q));
const sequence = fc.array(piece, { minLength: 1, maxLength: 6 }).map((parts) => parts.join(''));
const pattern = fc.array(sequence, { minLength: 1, maxLength: 3 }).map((alts) => alts.join('|'));
const text = fc.stringMatching(/^[abcA@. 1\n_-]{0,14}$/);
const flags = fc.constantFrom('', 'i', 's', 'm', 'is', 'im');

describe('the linear matcher answers as RegExp does', () => {
  it('for random patterns of the supported subset and random texts', () => {
    fc.assert(
      fc.property(pattern, flags, fc.array(text, { minLength: 1, maxLength: 8 }), (source, f, texts) => {
        const linear = linearPattern(source, f);
        const oracle = new RegExp(source, f);
        for (const t of texts) expect(linear.test(t), `/${source}/${f} on ${JSON.stringify(t)}`).toBe(oracle.test(t));
      }),
      { numRuns: 400, seed: 13 },
    );
  });

  it.each([
    ['^bounce-\\d+@', 'i', 'Bounce-42@x.test', true],
    ['^bounce-\\d+@', '', 'Bounce-42@x.test', false],
    ['(?<user>[a-z]+)@gone\\.test$', '', 'bob@gone.test', true],
    ['[\\d-]+', '', 'x-', true],
    ['\\x41\\u0042', '', 'AB', true],
    ['a{3}', '', 'aa', false],
    ['^$', '', '', true],
    ['[]', '', 'a', false],
    ['[^]', '', 'a', true],
  ])('/%s/%s on %j is %s', (source, f, input, expected) => {
    expect(linearPattern(source, f).test(input)).toBe(expected);
    expect(new RegExp(source, f).test(input)).toBe(expected);
  });

  it('globs keep their meaning: whole address, case-insensitive', () => {
    const glob = compilePattern('*@Example.com');
    expect(glob.test('bob@example.COM')).toBe(true);
    expect(glob.test('bob@example.com.evil')).toBe(false);
    expect(compilePattern('user-?@test').test('user-7@test')).toBe(true);
  });
});

describe('patterns that backtrack catastrophically elsewhere', () => {
  it.each([
    ['(a+)+$', `${'a'.repeat(5000)}!`],
    ['^(a|a)*$', `${'a'.repeat(5000)}!`],
    ['(a*)*b', 'a'.repeat(5000)],
    ['^(\\w+\\s?)*$', `${'word '.repeat(1000)}!`],
  ])('/%s/ answers false on a long text without hanging', (source, input) => {
    // With a backtracking engine, each of these runs for longer than the age of the universe.
    expect(linearPattern(source).test(input)).toBe(false);
  });

  it('a glob with many stars stays linear too', () => {
    expect(compilePattern(`${'*a'.repeat(20)}*b`).test('a'.repeat(2000))).toBe(false);
  });
});

describe('what the linear matcher refuses, naming it', () => {
  it.each([
    ['(a)\\1', /back-references \(\\1\)/],
    ['(?<x>a)\\k<x>', /named back-references/],
    ['a(?=b)', /lookahead/],
    ['a(?!b)', /lookahead/],
    ['(?<=a)b', /lookbehind/],
    ['\\p{L}', /Unicode property/],
    ['a{1001}', /at most 1000/],
    ['(a{1000}){1000}', /too large/],
    ['(a', /unterminated group/],
    ['a)', /unmatched "\)"/],
    ['*a', /nothing to repeat/],
    ['a**', /nothing to repeat/],
    ['[b-a]', /range out of order/],
    ['x'.repeat(1001), /at most 1000 characters/],
  ])('/%s/', (source, message) => {
    expect(() => linearPattern(source)).toThrow(PatternError);
    expect(() => linearPattern(source)).toThrow(message);
  });

  it('refuses an unknown flag', () => {
    expect(() => linearPattern('a', 'v')).toThrow(/flag "v" is not supported/);
  });
});
