import { readFile } from 'node:fs/promises';
import type { DelayOption, DelayRange, StageName } from '../behaviour/delays.js';
import { MAX_DELAY_MS, STAGE_NAMES, stageOf } from '../behaviour/delays.js';
import { compileRule, type FaultRule, FaultRuleError, faultRule } from '../behaviour/faults.js';
import { MODES, type Mode } from '../behaviour/modes.js';
import { PRESET_FAULT_FORMS, presetShortForm } from '../behaviour/presets/index.js';
import { parseDuration, UsageError } from './args.js';

/**
 * The behaviour flags of `mailhole serve` (mode, delays, header switches, AUTH, fault rules): each
 * value read into the startSink option it stands for, each mistake a `UsageError` naming the flag.
 */

export function parseMode(value: string, flag: string): Mode {
  if (!MODES.includes(value as Mode)) {
    throw new UsageError(`${flag} must be accept, bounce or random, got ${JSON.stringify(value)}`);
  }
  return value as Mode;
}

/** A share from 0 to 1: `0.8`, `.5`, `1`. */
export function parseRatio(value: string, flag: string): number {
  const ratio = /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!(ratio >= 0 && ratio <= 1)) {
    throw new UsageError(
      `${flag} must be a number from 0 to 1 (the share of messages accepted), got ${JSON.stringify(value)}`,
    );
  }
  return ratio;
}

export function parseSeed(value: string, flag: string): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff) {
    throw new UsageError(`${flag} must be a whole number from 0 to 4294967295, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** `250`, `2s`, `100-500`, `1s-3s`: milliseconds or a `[min, max]` range, each side a duration. */
export function parseDelayRange(value: string, flag: string): DelayRange {
  const sides = value.split('-');
  const bad = (): never => {
    throw new UsageError(
      `${flag} must be a delay such as 250 (ms), 2s or a range 100-500 / 1s-3s of at most 1h, got ${JSON.stringify(value)}`,
    );
  };
  if (sides.length > 2 || sides.some((side) => side.trim() === '')) bad();
  const ms = sides.map((side) => {
    try {
      return parseDuration(side, flag);
    } catch {
      return bad();
    }
  });
  const [min, max = min] = ms as [number, number?];
  if (min > max || max > MAX_DELAY_MS) bad();
  return min === max ? min : [min, max];
}

/**
 * `--delay` values (repeatable): `MS|MIN-MAX` delays the final reply to each message, as the
 * black-hole MTA did; `STAGE=MS|MIN-MAX` delays one stage's reply (`greeting=5s`, `rcpt=0-50`).
 */
export function parseDelays(values: readonly string[], flag: string): DelayOption {
  const byStage: Record<string, DelayRange> = {};
  let staged = false;
  for (const value of values) {
    const m = /^([A-Za-z]+)=(.*)$/s.exec(value);
    if (m === null) {
      byStage.message = parseDelayRange(value, flag);
      continue;
    }
    const name = m[1] as string;
    if (stageOf(name) === undefined) {
      throw new UsageError(`${flag} ${value}: "${name}" is not a stage (stages: ${STAGE_NAMES.replace(/"/g, '')})`);
    }
    staged = true;
    byStage[name.toLowerCase()] = parseDelayRange(m[2] as string, `${flag} ${name}=`);
  }
  if (!staged && byStage.message !== undefined) return byStage.message;
  return byStage;
}

/**
 * Users and passwords for `--auth-users FILE`: a JSON object `{ "user": "password" }`, or one
 * `user:password` a line (blank lines and `#` comments skipped). Messages never quote a password,
 * nor a line that may hold one.
 */
export async function readUsersFile(path: string, flag: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `${flag} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  const users: Record<string, string> = {};
  if (text.trimStart().startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // JSON.parse quotes the text around a mistake, and here that may be a password.
      throw new UsageError(`${flag} ${path}: not valid JSON; write { "user": "password", … } or user:password lines`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UsageError(`${flag} ${path}: must hold a JSON object { "user": "password", … }`);
    }
    for (const [user, password] of Object.entries(value)) {
      if (typeof password !== 'string') {
        throw new UsageError(`${flag} ${path}: user ${JSON.stringify(user)} needs a string password`);
      }
      users[user] = password;
    }
  } else {
    text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === '' || line.trimStart().startsWith('#')) return;
      const colon = line.indexOf(':');
      if (colon <= 0) {
        throw new UsageError(`${flag} ${path}: line ${i + 1} is not user:password`);
      }
      users[line.slice(0, colon).trim()] = line.slice(colon + 1);
    });
  }
  if (Object.keys(users).length === 0) {
    throw new UsageError(`${flag} ${path}: holds no users; write { "user": "password" } or user:password lines`);
  }
  return users;
}

/** The short forms `--fault` reads, for --help and error messages. */
export const FAULT_FORMS = [
  'fail-next[:CODE[:COUNT]]',
  'bounce-recipient:PATTERN[:CODE]',
  'greylist[:RETRY]',
  'disconnect[:STAGE]',
  'delay:STAGE:MS|MIN-MAX',
  ...PRESET_FAULT_FORMS,
  'STAGE=ACTION',
  'a JSON rule',
];

/**
 * A `--fault` value as a fault rule, checked as the sink will check it. `names` holds the names
 * already taken (a greylist rule is named greylist-N, as `sink.faults.greylist()` names it).
 */
export function parseFault(text: string, where: string, names: Set<string>): FaultRule {
  const value = text.trim();
  const fail = (what: string): never => {
    throw new UsageError(`${where}: ${what}`);
  };
  let rule: FaultRule;
  if (value.startsWith('{')) {
    try {
      rule = JSON.parse(value) as FaultRule;
    } catch (error) {
      return fail(`not valid JSON (${(error as Error).message})`);
    }
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) {
      return fail('a JSON rule must be an object { stage, match?, action, times? }');
    }
  } else {
    rule = shortFault(value, fail);
    if (rule.name === undefined && typeof rule.match?.greylist !== 'undefined') {
      let n = 1;
      while (names.has(`greylist-${n}`)) n++;
      rule = { name: `greylist-${n}`, ...rule };
    }
  }
  const name = rule.name ?? `fault-${names.size + 1}`;
  if (rule.name !== undefined && names.has(rule.name)) {
    fail(`a rule named "${rule.name}" is already given; each rule needs its own name`);
  }
  try {
    compileRule(rule, name, 0, `${where}:`);
  } catch (error) {
    if (error instanceof FaultRuleError) throw new UsageError(error.message);
    throw error;
  }
  if (rule.name !== undefined) names.add(rule.name);
  return rule;
}

function shortFault(value: string, fail: (what: string) => never): FaultRule {
  const forms = `the forms are ${FAULT_FORMS.join(', ')} (mailhole serve --help)`;
  const m = /^([A-Za-z-]+)(?::(.*))?$/s.exec(value);
  const word = m?.[1]?.toLowerCase().replace(/-/g, '');
  const rest = m?.[2];
  const code = (text: string, what: string): number => {
    if (!/^[2-5]\d\d$/.test(text)) fail(`${what} must be a reply code such as 451 or 550, got ${JSON.stringify(text)}`);
    return Number(text);
  };
  switch (word) {
    case 'failnext': {
      const [codeText, countText, extra] = rest === undefined ? [] : rest.split(':');
      if (extra !== undefined) fail('fail-next takes fail-next, fail-next:CODE or fail-next:CODE:COUNT');
      let count: number | undefined;
      if (countText !== undefined) {
        if (!/^\d{1,9}$/.test(countText) || Number(countText) < 1) {
          fail(`fail-next COUNT must be a whole number >= 1, got ${JSON.stringify(countText)}`);
        }
        count = Number(countText);
      }
      return faultRule.failNext(
        codeText === undefined ? undefined : code(codeText, 'fail-next CODE'),
        count === undefined ? {} : { count },
      );
    }
    case 'bouncerecipient': {
      if (rest === undefined || rest === '') {
        return fail('bounce-recipient needs a pattern: bounce-recipient:*@gone.test or bounce-recipient:/^full-/i:552');
      }
      // A RegExp may hold colons: only a trailing :NNN is a code.
      const withCode = /^(.*):(\d{3})$/s.exec(rest);
      const pattern = withCode === null ? rest : (withCode[1] as string);
      return faultRule.bounceRecipient(pattern, withCode === null ? undefined : code(withCode[2] as string, 'CODE'));
    }
    case 'greylist': {
      if (rest === undefined) return faultRule.greylist();
      let retryAfterMs: number;
      try {
        retryAfterMs = parseDuration(rest, 'greylist RETRY');
      } catch (error) {
        return fail((error as Error).message);
      }
      return faultRule.greylist({ retryAfterMs });
    }
    case 'disconnect':
      if (rest !== undefined && stageOf(rest) === undefined) fail(`disconnect:STAGE: "${rest}" is not a stage`);
      return faultRule.disconnect(rest as StageName | undefined);
    case 'delay': {
      const colon = rest?.indexOf(':') ?? -1;
      if (rest === undefined || colon < 0) return fail('delay needs a stage and a delay: delay:greeting:5s');
      const stage = rest.slice(0, colon);
      if (stageOf(stage) === undefined) fail(`delay:STAGE: "${stage}" is not a stage`);
      let ms: DelayRange;
      try {
        ms = parseDelayRange(rest.slice(colon + 1), 'delay MS');
      } catch (error) {
        return fail((error as Error).message);
      }
      return faultRule.delay(stage as StageName, ms);
    }
    default: {
      const preset = presetShortForm(value);
      if (preset !== undefined) return preset as FaultRule;
      const generic = /^([A-Za-z]+)=(.+)$/s.exec(value);
      if (generic !== null) return { stage: generic[1] as StageName, action: generic[2] as string };
      return fail(`${JSON.stringify(value)} is not a fault rule; ${forms}`);
    }
  }
}
