import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI, run exactly as the `mailhole` bin runs it. */
export const CLI = fileURLToPath(new URL('../dist/esm/cli/main.js', import.meta.url));

/** The first JSON line `mailhole serve` prints when stdout is not a terminal. */
export interface Listening {
  event: 'listening';
  version: string;
  smtp: string;
  smtps?: string;
  api?: string;
  ca?: string;
  capture: string;
  workers: number;
  pid: number;
  workerPids?: number[];
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running `mailhole serve` child process. */
export interface ServeProcess {
  child: ChildProcess;
  listening: Listening;
  /** SMTP port, from the printed URL. */
  port: number;
  /** Control API base URL. */
  api: string;
  stdout(): string;
  /** Sends `signal` and resolves when the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<Finished>;
}

const running = new Set<ChildProcess>();

function requireBuild(): void {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: build @mailhole/core first (pnpm build)`);
  }
}

/**
 * Spawns `mailhole serve ARGS` and resolves once it printed where it listens. Killed by
 * `stopServers()` (call it in afterEach) if a test does not stop it.
 *
 * @example const server = await spawnServe(['--port', '0', '--api-port', '0']);
 */
export function spawnServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  requireBuild();
  const child = spawn(process.execPath, [CLI, 'serve', ...args], {
    env: { ...process.env, MAILHOLE_API_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<Finished>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      // Let the pipes drain before reporting what was printed.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mailhole serve ${args.join(' ')} printed no listening line within 20 s\n${stdout}\n${stderr}`));
    }, 20_000);
    const onData = (): void => {
      const line = stdout.split('\n').find((l) => l.startsWith('{"event":"listening"'));
      if (line === undefined) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      const listening = JSON.parse(line) as Listening;
      resolve({
        child,
        listening,
        port: Number(new URL(listening.smtp).port),
        api: listening.api ?? '',
        stdout: () => stdout,
        stop: (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    };
    child.stdout.on('data', onData);
    exited.then((result) => {
      clearTimeout(timer);
      reject(
        new Error(
          `mailhole serve ${args.join(' ')} exited (${result.code ?? result.signal}) before listening:\n${result.stdout}\n${result.stderr}`,
        ),
      );
    });
  });
}

/** Kills every `mailhole serve` a test left running. */
export async function stopServers(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/** Runs `mailhole ARGS` to its end (`wait`, `stats`, `--help`…). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeout = 30_000): Promise<Finished> {
  requireBuild();
  return runProgram(process.execPath, [CLI, ...args], { ...process.env, MAILHOLE_API_TOKEN: '', ...env }, timeout);
}

/** Runs a program to its end, killing it (and failing) after `timeout` ms. */
export function runProgram(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  timeout = 30_000,
  cwd?: string,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeout} ms\n${stdout}\n${stderr}`));
    }, timeout);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The path of an installed program, or an error saying how to install it. */
export function requireTool(name: string, install: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin'])) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  throw new Error(`${name} is not installed: these tests drive the real program (install it with: ${install})`);
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
