import { type ParseArgsConfig, parseArgs } from 'node:util';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
type ParsedValues<T extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>
>['values'];

/**
 * Exit codes of the `mailhole` commands. Each command's --help lists the ones it uses (built from
 * `exitCodes` below) and the README repeats them; test/cli-help.test.ts checks all three agree.
 */
export const EXIT = {
  /** Done: serve stopped cleanly, wait saw its deliveries, stats and mark printed. */
  ok: 0,
  /** wait timed out; serve could not start or failed while closing. */
  failed: 1,
  /** A usage error: unknown command or flag, or a bad value. */
  usage: 2,
  /** The control API could not be reached or refused the request. */
  unreachable: 3,
  /** serve got a second Ctrl-C while closing and stopped at once. */
  interrupted: 130,
} as const;

/** The "Exit codes" section of a --help text: one line per code, meaning as given. */
export function exitCodes(lines: Array<[code: number, meaning: string]>): string {
  return `Exit codes\n${lines.map(([code, meaning]) => `  ${String(code).padEnd(4)} ${meaning}`).join('\n')}\n`;
}

/** The usage-error line every command shares. */
export const USAGE_EXIT: [number, string] = [
  EXIT.usage,
  'usage error: an unknown flag or a bad value (the message names it and points at --help)',
];

/** The unreachable-API line of the commands that talk to a running sink. */
export const UNREACHABLE_EXIT: [number, string] = [
  EXIT.unreachable,
  'the control API could not be reached or refused the request (is mailhole serve running at --api? is --token right?)',
];

/** A mistake on the command line: printed with the command's usage hint, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Like util.parseArgs, with errors that name the command and point at its --help. */
export function parseCommand<T extends OptionsConfig>(command: string, args: string[], options: T): ParsedValues<T> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`mailhole ${command}: ${message}; see mailhole ${command} --help`);
  }
}

/** A port: `2525`, `0` (any free port) or a preferred range `2525-2535` (the first free one). */
export type PortSpec = { port: number } | { from: number; to: number };

export function parsePort(value: string, flag: string): PortSpec {
  const range = /^(\d{1,5})-(\d{1,5})$/.exec(value);
  if (range !== null) {
    const from = Number(range[1]);
    const to = Number(range[2]);
    if (from < 1 || to > 65535 || from > to) {
      throw new UsageError(`${flag} ${value}: a range must go from a lower to a higher port within 1-65535`);
    }
    return { from, to };
  }
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new UsageError(
      `${flag} must be a port (0-65535, 0 = any free port) or a range such as 2525-2535, got ${JSON.stringify(value)}`,
    );
  }
  return { port: Number(value) };
}

/** Milliseconds from `500ms`, `30s`, `2m`, `1h` or a bare number of milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim());
  if (m === null) {
    throw new UsageError(
      `${flag} must be a duration such as 500ms, 30s or 2m (a bare number is milliseconds), got ${JSON.stringify(value)}`,
    );
  }
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * scale);
}

/** Octets from `1048576`, `512K`, `10M`, `1G` (binary multiples; `KiB`, `MB` and the like also read). */
export function parseSize(value: string, flag: string): number {
  const m = /^(\d+)\s*([kmg])?(?:i?b)?$/i.exec(value.trim());
  if (m === null) {
    throw new UsageError(`${flag} must be a size such as 1048576, 512K, 10M or 1G, got ${JSON.stringify(value)}`);
  }
  const unit = (m[2] ?? '').toLowerCase();
  const scale = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Number(m[1]) * scale;
}

/** A whole number >= min. */
export function parseCount(value: string, flag: string, min = 0): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) < min) {
    throw new UsageError(`${flag} must be a whole number >= ${min}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}
