// The linear matcher's pattern syntax: its limits, the parse tree and the program it compiles to,
// and the parser from JavaScript's regular-expression syntax (see linear-pattern.ts).

/** A pattern the linear matcher cannot take; the message names the construct and what to do. */
export class PatternError extends Error {
  override name = 'PatternError';
}

/** Longest pattern source accepted (octets of text), and most NFA steps once `{n,m}` is expanded. */
export const MAX_PATTERN_LENGTH = 1000;
export const MAX_PROGRAM = 20_000;
export const MAX_REPEAT = 1000;

export type CodeTest = (c: number) => boolean;
export type AssertKind = 'bol' | 'eol' | 'word' | 'notword';

export type Node =
  | { type: 'char'; test: CodeTest }
  | { type: 'seq'; items: Node[] }
  | { type: 'alt'; options: Node[] }
  | { type: 'repeat'; node: Node; min: number; max: number }
  | { type: 'assert'; kind: AssertKind };

export type Inst =
  | { op: 'char'; test: CodeTest }
  | { op: 'split'; x: number; y: number }
  | { op: 'jmp'; x: number }
  | { op: 'assert'; kind: AssertKind }
  | { op: 'match' };

export class Parser {
  private i = 0;

  constructor(
    private readonly source: string,
    private readonly ignoreCase: boolean,
    private readonly dotAll: boolean,
  ) {}

  parse(): Node {
    const tree = this.alternation();
    if (this.i < this.source.length) this.fail(`unmatched ")" at position ${this.i}`);
    return tree;
  }

  private fail(what: string): never {
    throw new PatternError(`/${this.source}/: ${what}`);
  }

  private alternation(): Node {
    const options = [this.sequence()];
    while (this.source[this.i] === '|') {
      this.i++;
      options.push(this.sequence());
    }
    return options.length === 1 ? (options[0] as Node) : { type: 'alt', options };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.i < this.source.length) {
      const c = this.source[this.i];
      if (c === '|' || c === ')') break;
      const atom = this.atom();
      items.push(this.quantified(atom));
    }
    return items.length === 1 ? (items[0] as Node) : { type: 'seq', items };
  }

  private quantified(atom: Node): Node {
    const s = this.source;
    let min: number;
    let max: number;
    const c = s[this.i];
    if (c === '*') [min, max] = [0, Number.POSITIVE_INFINITY];
    else if (c === '+') [min, max] = [1, Number.POSITIVE_INFINITY];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(s.slice(this.i));
      if (m === null) return atom;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
      if (min > MAX_REPEAT || (max !== Number.POSITIVE_INFINITY && max > MAX_REPEAT)) {
        this.fail(`a repeat count may be at most ${MAX_REPEAT}, got ${m[0]}`);
      }
      if (max < min) this.fail(`numbers out of order in ${m[0]}`);
      this.i += m[0].length - 1;
    } else {
      return atom;
    }
    if (atom.type === 'assert') this.fail(`nothing to repeat at position ${this.i}`);
    this.i++;
    // A lazy quantifier matches the same texts as a greedy one: `test` cannot tell them apart.
    if (s[this.i] === '?') this.i++;
    const after = s[this.i];
    if ((after !== undefined && '*+?'.includes(after)) || (after === '{' && /^\{\d+(,\d*)?\}/.test(s.slice(this.i)))) {
      this.fail(`nothing to repeat at position ${this.i}`);
    }
    return { type: 'repeat', node: atom, min, max };
  }

  private atom(): Node {
    const s = this.source;
    const c = s[this.i] as string;
    switch (c) {
      case '(': {
        this.i++;
        if (s.startsWith('?:', this.i)) {
          this.i += 2;
        } else if (s.startsWith('?=', this.i) || s.startsWith('?!', this.i)) {
          this.fail('lookahead (?= and ?!) is not supported: it cannot run in linear time');
        } else if (s.startsWith('?<=', this.i) || s.startsWith('?<!', this.i)) {
          this.fail('lookbehind (?<= and ?<!) is not supported: it cannot run in linear time');
        } else if (s.startsWith('?<', this.i)) {
          const close = s.indexOf('>', this.i);
          if (close < 0 || !/^[A-Za-z_$][\w$]*$/.test(s.slice(this.i + 2, close))) {
            this.fail(`invalid group name at position ${this.i}`);
          }
          this.i = close + 1;
        } else if (s[this.i] === '?') {
          this.fail(`invalid group at position ${this.i}`);
        }
        const inner = this.alternation();
        if (s[this.i] !== ')') this.fail('unterminated group: a "(" has no ")"');
        this.i++;
        return inner;
      }
      case ')':
        return this.fail(`unmatched ")" at position ${this.i}`);
      case '[':
        return this.characterClass();
      case '.': {
        this.i++;
        const dotAll = this.dotAll;
        return { type: 'char', test: dotAll ? () => true : (x) => !isLineTerminator(x) };
      }
      case '^':
        this.i++;
        return { type: 'assert', kind: 'bol' };
      case '$':
        this.i++;
        return { type: 'assert', kind: 'eol' };
      case '\\':
        return this.escape();
      case '*':
      case '+':
      case '?':
        return this.fail(`nothing to repeat at position ${this.i}`);
      default: {
        if (c === '{' && /^\{\d+(,\d*)?\}/.test(s.slice(this.i))) this.fail(`nothing to repeat at position ${this.i}`);
        this.i++;
        return this.literal(c.charCodeAt(0));
      }
    }
  }

  /** An escape outside a class: an assertion, a class, or one code unit. */
  private escape(): Node {
    const c = this.source[this.i + 1];
    if (c === undefined) this.fail('"\\" at the end of the pattern');
    if (c === 'b' || c === 'B') {
      this.i += 2;
      return { type: 'assert', kind: c === 'b' ? 'word' : 'notword' };
    }
    const set = this.classEscape();
    if (set !== undefined) return { type: 'char', test: set };
    return this.literal(this.codeEscape(false));
  }

  /** `\d \D \w \W \s \S` at `i` (the backslash), consumed; otherwise undefined and nothing consumed. */
  private classEscape(): CodeTest | undefined {
    const c = this.source[this.i + 1];
    let test: CodeTest | undefined;
    if (c === 'd') test = isDigit;
    else if (c === 'D') test = (x) => !isDigit(x);
    else if (c === 'w') test = isWord;
    else if (c === 'W') test = (x) => !isWord(x);
    else if (c === 's') test = isSpace;
    else if (c === 'S') test = (x) => !isSpace(x);
    if (test !== undefined) this.i += 2;
    return test;
  }

  /** One code unit from an escape at `i` (the backslash), consumed. */
  private codeEscape(inClass: boolean): number {
    const s = this.source;
    const c = s[this.i + 1] as string;
    this.i += 2;
    switch (c) {
      case 't':
        return 9;
      case 'n':
        return 10;
      case 'v':
        return 11;
      case 'f':
        return 12;
      case 'r':
        return 13;
      case 'b':
        // Only reached inside a class, where \b is a backspace.
        return 8;
      case '0':
        if (/\d/.test(s[this.i] ?? '')) this.fail('octal escapes are not supported');
        return 0;
      case 'x': {
        const m = /^[0-9A-Fa-f]{2}/.exec(s.slice(this.i));
        if (m === null) this.fail('\\x needs two hex digits');
        this.i += 2;
        return Number.parseInt(m[0], 16);
      }
      case 'u': {
        const braced = /^\{([0-9A-Fa-f]{1,4})\}/.exec(s.slice(this.i));
        const plain = /^[0-9A-Fa-f]{4}/.exec(s.slice(this.i));
        if (braced !== null) {
          this.i += braced[0].length;
          return Number.parseInt(braced[1] as string, 16);
        }
        if (plain === null) this.fail('\\u needs four hex digits (astral \\u{…} escapes are not supported)');
        this.i += 4;
        return Number.parseInt(plain[0], 16);
      }
      case 'c': {
        const letter = s[this.i];
        if (letter === undefined || !/[A-Za-z]/.test(letter)) this.fail('\\c needs a letter');
        this.i++;
        return letter.charCodeAt(0) % 32;
      }
      case 'k':
        return this.fail('named back-references (\\k<name>) are not supported: they cannot run in linear time');
      case 'p':
      case 'P':
        return this.fail('Unicode property escapes (\\p{…}) are not supported');
      default:
        if (/[1-9]/.test(c)) {
          return this.fail(`back-references (\\${c}) are not supported: they cannot run in linear time`);
        }
        if (!inClass && /[A-Za-z]/.test(c)) this.fail(`unknown escape \\${c}`);
        return c.charCodeAt(0);
    }
  }

  private characterClass(): Node {
    const s = this.source;
    this.i++;
    let negate = false;
    if (s[this.i] === '^') {
      negate = true;
      this.i++;
    }
    const tests: CodeTest[] = [];
    for (;;) {
      const c = s[this.i];
      if (c === undefined) this.fail('unterminated character class: a "[" has no "]"');
      if (c === ']') {
        this.i++;
        break;
      }
      let low: number | CodeTest;
      if (c === '\\') {
        low = this.classEscape() ?? this.codeEscape(true);
      } else {
        low = c.charCodeAt(0);
        this.i++;
      }
      if (typeof low === 'number' && s[this.i] === '-' && s[this.i + 1] !== ']' && s[this.i + 1] !== undefined) {
        this.i++;
        let high: number | CodeTest;
        if (s[this.i] === '\\') {
          high = this.classEscape() ?? this.codeEscape(true);
        } else {
          high = (s[this.i] as string).charCodeAt(0);
          this.i++;
        }
        if (typeof high !== 'number') {
          // `[a-\d]`: the dash is literal, as JavaScript reads it without the u flag.
          const dash = 45;
          const lowCode = low;
          tests.push((x) => x === lowCode || x === dash, high);
          continue;
        }
        if (high < low) this.fail('range out of order in character class');
        const [from, to] = [low, high];
        tests.push((x) => x >= from && x <= to);
        continue;
      }
      if (typeof low === 'number') {
        const code = low;
        tests.push((x) => x === code);
      } else {
        tests.push(low);
      }
    }
    const inSet: CodeTest = (x) => tests.some((t) => t(x));
    const test = this.ignoreCase ? foldCase(inSet) : inSet;
    return { type: 'char', test: negate ? (x) => !test(x) : test };
  }

  private literal(code: number): Node {
    const exact: CodeTest = (x) => x === code;
    return { type: 'char', test: this.ignoreCase ? foldCase(exact) : exact };
  }
}

/** The test, also true for the other case of a letter (the `i` flag). */
export function foldCase(test: CodeTest): CodeTest {
  return (x) => {
    if (test(x)) return true;
    const ch = String.fromCharCode(x);
    const lower = ch.toLowerCase();
    const upper = ch.toUpperCase();
    return (
      (lower.length === 1 && lower !== ch && test(lower.charCodeAt(0))) ||
      (upper.length === 1 && upper !== ch && test(upper.charCodeAt(0)))
    );
  };
}

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isWord(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

export function isLineTerminator(c: number): boolean {
  return c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
}

export function isSpace(c: number): boolean {
  return (
    (c >= 9 && c <= 13) ||
    c === 32 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}
