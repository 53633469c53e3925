import {
  type AssertKind,
  type Inst,
  isLineTerminator,
  isWord,
  MAX_PATTERN_LENGTH,
  MAX_PROGRAM,
  type Node,
  Parser,
  PatternError,
} from './linear-pattern-syntax.js';

export { MAX_PATTERN_LENGTH, PatternError } from './linear-pattern-syntax.js';

/**
 * A regular-expression matcher that runs in time linear in the text (times the pattern's size),
 * whatever the pattern: a Thompson NFA simulated one position at a time (Pike's VM without
 * captures), never backtracking. Fault-rule patterns that arrive as text (`"/…/flags"` over the
 * control API, from `--fault`, in a config file) run here, so `(a+)+$` cannot freeze the sink.
 *
 * It reads JavaScript's syntax and answers `test()` as a RegExp would, for the subset that has no
 * backtracking semantics: literals, `.`, classes (`[a-z]`, `[^…]`, `\d \w \s` and negations),
 * anchors `^ $ \b \B`, groups `( )` `(?: )` `(?<name> )`, alternation `|`, quantifiers
 * `* + ? {n} {n,} {n,m}` (lazy forms too: they match the same texts); flags `i`, `m`, `s`, `u`
 * (and `g`, `y`, `d`, ignored: a rule gives the same answer every time). Back-references and
 * lookaround cannot run in linear time and are refused with a `PatternError` naming them.
 * It works on UTF-16 code units.
 *
 * @example linearPattern('^bounce-\\d+@', 'i').test('Bounce-42@x.test') // true
 */
export function linearPattern(source: string, flags = ''): LinearPattern {
  return new LinearPattern(source, flags);
}

/** A compiled pattern; `source` and `flags` as given, for JSON and messages. */
export class LinearPattern {
  private readonly program: Inst[];
  private readonly multiline: boolean;

  constructor(
    readonly source: string,
    readonly flags: string,
  ) {
    for (const f of flags) {
      if (!'gimsuyd'.includes(f) || flags.indexOf(f) !== flags.lastIndexOf(f)) {
        throw new PatternError(
          `/${source}/${flags}: flag "${f}" is not supported (flags: i, m, s, u; g, y and d are ignored)`,
        );
      }
    }
    if (source.length > MAX_PATTERN_LENGTH) {
      throw new PatternError(`a pattern may be at most ${MAX_PATTERN_LENGTH} characters, got ${source.length}`);
    }
    this.multiline = flags.includes('m');
    const parser = new Parser(source, flags.includes('i'), flags.includes('s'));
    const tree = parser.parse();
    this.program = compile(tree, source);
  }

  /** True when the pattern matches somewhere in `text`, as `RegExp.prototype.test` would say. */
  test(text: string): boolean {
    const program = this.program;
    const size = program.length;
    const marks = new Int32Array(size).fill(-1);
    let current = new Int32Array(size);
    let next = new Int32Array(size);
    let currentLength = 0;
    let generation = 0;
    const stack: number[] = [];
    const length = text.length;

    /** Adds `pc` and everything reachable from it without reading, at `pos`; true on a match. */
    const add = (list: Int32Array, count: { n: number }, start: number, pos: number): boolean => {
      stack.push(start);
      while (stack.length > 0) {
        const pc = stack.pop() as number;
        if (marks[pc] === generation) continue;
        marks[pc] = generation;
        const inst = program[pc] as Inst;
        switch (inst.op) {
          case 'match':
            stack.length = 0;
            return true;
          case 'jmp':
            stack.push(inst.x);
            break;
          case 'split':
            stack.push(inst.y, inst.x);
            break;
          case 'assert':
            if (this.holds(inst.kind, text, pos)) stack.push(pc + 1);
            break;
          default:
            list[count.n++] = pc;
        }
      }
      return false;
    };

    const count = { n: 0 };
    generation++;
    if (add(current, count, 0, 0)) return true;
    currentLength = count.n;
    for (let pos = 0; pos < length; pos++) {
      const c = text.charCodeAt(pos);
      generation++;
      count.n = 0;
      for (let i = 0; i < currentLength; i++) {
        const pc = current[i] as number;
        const inst = program[pc] as Extract<Inst, { op: 'char' }>;
        if (inst.test(c) && add(next, count, pc + 1, pos + 1)) return true;
      }
      // Unanchored: a match may also start at the next position.
      if (add(next, count, 0, pos + 1)) return true;
      const swap = current;
      current = next;
      next = swap;
      currentLength = count.n;
    }
    return false;
  }

  private holds(kind: AssertKind, text: string, pos: number): boolean {
    switch (kind) {
      case 'bol':
        return pos === 0 || (this.multiline && isLineTerminator(text.charCodeAt(pos - 1)));
      case 'eol':
        return pos === text.length || (this.multiline && isLineTerminator(text.charCodeAt(pos)));
      case 'word':
      case 'notword': {
        const before = pos > 0 && isWord(text.charCodeAt(pos - 1));
        const after = pos < text.length && isWord(text.charCodeAt(pos));
        return (before !== after) === (kind === 'word');
      }
    }
  }
}

function compile(tree: Node, source: string): Inst[] {
  const program: Inst[] = [];
  const push = (inst: Inst): Inst => {
    if (program.length >= MAX_PROGRAM) {
      throw new PatternError(
        `/${source}/ is too large once its repeats are expanded (more than ${MAX_PROGRAM} steps): use smaller {n,m} counts`,
      );
    }
    program.push(inst);
    return inst;
  };
  const emit = (node: Node): void => {
    switch (node.type) {
      case 'char':
        push({ op: 'char', test: node.test });
        return;
      case 'assert':
        push({ op: 'assert', kind: node.kind });
        return;
      case 'seq':
        for (const item of node.items) emit(item);
        return;
      case 'alt': {
        const jumps: Array<{ op: 'jmp'; x: number }> = [];
        node.options.forEach((option, i) => {
          if (i === node.options.length - 1) {
            emit(option);
            return;
          }
          const split = push({ op: 'split', x: program.length + 1, y: 0 }) as { op: 'split'; x: number; y: number };
          emit(option);
          jumps.push(push({ op: 'jmp', x: 0 }) as { op: 'jmp'; x: number });
          split.y = program.length;
        });
        for (const jump of jumps) jump.x = program.length;
        return;
      }
      case 'repeat': {
        for (let i = 0; i < node.min; i++) emit(node.node);
        if (node.max === Number.POSITIVE_INFINITY) {
          const loop = program.length;
          const split = push({ op: 'split', x: loop + 1, y: 0 }) as { op: 'split'; x: number; y: number };
          emit(node.node);
          push({ op: 'jmp', x: loop });
          split.y = program.length;
          return;
        }
        const splits: Array<{ op: 'split'; x: number; y: number }> = [];
        for (let i = node.min; i < node.max; i++) {
          splits.push(push({ op: 'split', x: program.length + 1, y: 0 }) as { op: 'split'; x: number; y: number });
          emit(node.node);
        }
        for (const split of splits) split.y = program.length;
        return;
      }
    }
  };
  emit(tree);
  push({ op: 'match' });
  return program;
}
