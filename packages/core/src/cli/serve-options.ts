import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import getPort, { portNumbers } from 'get-port';
import type { AuthOptions } from '../behaviour/auth.js';
import type { FaultRule } from '../behaviour/faults.js';
import type { SinkInfo } from '../control/target.js';
import type { StartOptions } from '../start.js';
import { type PortSpec, parsePort, UsageError } from './args.js';
import {
  parseDelayRange,
  parseDelays,
  parseFault,
  parseMode,
  parseRatio,
  parseSeed,
  readUsersFile,
} from './behaviour-flags.js';

import type { ServeFlags } from './serve-flags.js';

// How `mailhole serve` turns its flags, its --config file and its port specs into sink options.

/** A port clash told in the CLI's words: which flag to change, and how. */
export function inUse(error: unknown): unknown {
  const message = (error as Error)?.message ?? '';
  const m = /^(?:startSink|control API): (\S+) is already in use/.exec(message);
  if (m === null) return error;
  const flag = message.startsWith('control API')
    ? '--api-port'
    : message.includes('"tlsPort"')
      ? '--tls-port'
      : '--port';
  return new Error(
    `${m[1]} is already in use; choose another ${flag} (0 takes any free port, a range such as 2525-2535 the first free one)`,
    { cause: error },
  );
}

/** The behaviour flags over what --config set; header switches default to on (see --help). */
export async function behaviourFlags(flags: ServeFlags, options: StartOptions): Promise<void> {
  if (flags.mode !== undefined) options.mode = parseMode(flags.mode, '--mode');
  if (flags['accept-ratio'] !== undefined) options.acceptRatio = parseRatio(flags['accept-ratio'], '--accept-ratio');
  if (flags.seed !== undefined) options.seed = parseSeed(flags.seed, '--seed');
  if (flags.delay !== undefined) options.delay = parseDelays(flags.delay, '--delay');
  if (flags['header-switches'] && flags['no-header-switches']) {
    throw new UsageError('--header-switches and --no-header-switches contradict each other: give one');
  }
  if (flags['header-switches']) options.headerSwitches = true;
  if (flags['no-header-switches']) options.headerSwitches = false;
  options.headerSwitches ??= true;
  if (flags.lenient) options.lenient = true;
  if (flags.auth || flags['auth-users'] !== undefined || flags['require-auth']) {
    const current = typeof options.auth === 'object' && options.auth !== null ? (options.auth as AuthOptions) : {};
    options.auth =
      flags['auth-users'] !== undefined
        ? { ...current, users: await readUsersFile(flags['auth-users'], '--auth-users') }
        : typeof options.auth === 'object' && options.auth !== null
          ? options.auth
          : true;
  }
  if (flags['require-auth']) options.requireAuth = true;
  if (flags.fault !== undefined) {
    const names = new Set((options.faults ?? []).map((r) => r?.name).filter((n): n is string => typeof n === 'string'));
    const rules = flags.fault.map((text) => parseFault(text, `--fault ${JSON.stringify(text)}`, names));
    options.faults = [...(options.faults ?? []), ...rules];
  }
}

/**
 * --config may write what the flags write: `"delay": "100-500"` or `{ "greeting": "5s" }`,
 * `"faults": ["fail-next"]`, and `"auth": { "users": "users.txt" }` (a users file, relative to the
 * config file, so the passwords stay out of it).
 */
export async function configBehaviour(options: StartOptions, path: string): Promise<void> {
  const where = `--config ${path}:`;
  if (typeof options.delay === 'string') options.delay = parseDelays([options.delay], `${where} "delay"`);
  else if (typeof options.delay === 'object' && options.delay !== null && !Array.isArray(options.delay)) {
    const byStage: Record<string, unknown> = { ...options.delay };
    for (const [stage, value] of Object.entries(byStage)) {
      if (typeof value === 'string') byStage[stage] = parseDelayRange(value, `${where} "delay.${stage}"`);
    }
    options.delay = byStage as NonNullable<StartOptions['delay']>;
  }
  if (Array.isArray(options.faults)) {
    const names = new Set(
      options.faults.map((r) => (r as FaultRule | undefined)?.name).filter((n): n is string => typeof n === 'string'),
    );
    options.faults = options.faults.map((rule, i) =>
      typeof rule === 'string' ? parseFault(rule, `${where} "faults[${i}]" ${JSON.stringify(rule)}`, names) : rule,
    );
  }
  const auth = options.auth as AuthOptions | undefined;
  if (typeof auth === 'object' && auth !== null && typeof (auth.users as unknown) === 'string') {
    const file = resolve(dirname(path), auth.users as unknown as string);
    options.auth = { ...auth, users: await readUsersFile(file, `${where} "auth.users"`) };
  }
}

/** One line on what the sink answers beyond accepting everything, for the start banner. */
export function describeBehaviour(info: Omit<SinkInfo, 'apiUrl'>, options: StartOptions): string {
  const o = info.options;
  const parts = [o.mode === 'random' ? `mode random (accept ratio ${o.acceptRatio})` : `mode ${o.mode}`];
  if (options.delay !== undefined) parts.push(`delay ${JSON.stringify(options.delay)}`);
  parts.push(`header switches ${o.headerSwitches ? 'on' : 'off'}`);
  if (o.auth !== 'none') {
    const users =
      typeof options.auth === 'object' && options.auth !== null ? (options.auth as AuthOptions).users : undefined;
    const who = users === undefined ? 'any user' : `${Object.keys(users).length} user(s)`;
    parts.push(`AUTH ${o.auth} (${who})`);
  }
  if (o.lenient) parts.push('lenient');
  const faults = (options.faults?.length ?? 0) + (options.rejections?.length ?? 0);
  if (faults > 0) parts.push(`${faults} fault rule(s)`);
  return parts.join(', ');
}

export function portOption(value: unknown, flag: string, fallback: number): PortSpec {
  if (value === undefined) return { port: fallback };
  if (typeof value === 'number') return parsePort(String(value), flag);
  if (typeof value === 'string') return parsePort(value, flag);
  throw new UsageError(`${flag} (config) must be a port number or a range string such as "2525-2535"`);
}

/** A port to bind: explicit ones are used as they are (a clash is reported by the listener), ranges give the first free one. */
export async function choosePort(spec: PortSpec, host: string, flag: string, fixZero: boolean): Promise<number> {
  if ('port' in spec) return spec.port === 0 && fixZero ? getPort({ host }) : spec.port;
  const port = await getPort({ port: portNumbers(spec.from, spec.to), host });
  if (port < spec.from || port > spec.to) {
    throw new UsageError(`${flag} ${spec.from}-${spec.to}: every port in the range is in use; widen it or use 0`);
  }
  return port;
}

export async function readConfig(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `--config ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--config ${path}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(
      `--config ${path}: must hold a JSON object with startSink options, e.g. {"port": 2525, "capture": "full"}`,
    );
  }
  return value as Record<string, unknown>;
}
