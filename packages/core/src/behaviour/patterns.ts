/**
 * An address pattern: a glob where `*` is any run of characters and `?` one character
 * (`*@example.com`, `user-?@test`), or a RegExp. In JSON a RegExp is written as a string
 * `"/^bounce-\\d+@/i"`. Globs compare case-insensitively and must match the whole address.
 */
export type AddressPattern = string | RegExp;

const REGEXP_LITERAL = /^\/(.+)\/([dgimsuvy]*)$/s;

/** The pattern as a RegExp: a `"/…/flags"` string is a RegExp, any other string a glob. */
export function compilePattern(pattern: AddressPattern): RegExp {
  if (pattern instanceof RegExp) return stateless(pattern);
  const literal = REGEXP_LITERAL.exec(pattern);
  if (literal !== null) return stateless(new RegExp(literal[1] as string, literal[2]));
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** A string that means "substring" unless written as `"/…/flags"`. */
export function compileValuePattern(pattern: string | RegExp): RegExp {
  if (pattern instanceof RegExp || REGEXP_LITERAL.test(pattern)) return compilePattern(pattern);
  return new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

/** A pattern as JSON: RegExps become `"/source/flags"` strings, which `compilePattern` reads back. */
export function patternToJson(pattern: AddressPattern): string {
  return pattern instanceof RegExp ? `/${pattern.source}/${pattern.flags}` : pattern;
}

// `g` and `y` make `test` remember where it stopped: a rule must give the same answer every time.
function stateless(re: RegExp): RegExp {
  return re.global || re.sticky ? new RegExp(re.source, re.flags.replace(/[gy]/g, '')) : re;
}
