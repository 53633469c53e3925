import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Milliseconds before the child is killed and the run fails (default 15000). */
  timeout?: number;
  /** Written to the child's stdin, which is then closed. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs a program to its end and captures its output. A child that outlives `timeout` is killed
 * and the promise rejects with what it had printed, so a hung client fails the test, never hangs it.
 *
 * @example const { code, stdout } = await run('curl', ['--version']);
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<ChildResult> {
  const timeout = options.timeout ?? 15_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdin.on('error', () => {
      // A child that exits without reading its stdin is judged by its exit code, not EPIPE.
    });
    child.stdin.end(options.input);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeout);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(
          new Error(
            `${command} ${args.join(' ')} did not finish within ${timeout} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
          ),
        );
      } else {
        resolve({ code, signal, stdout, stderr });
      }
    });
  });
}

/**
 * The path of an installed program, or an error saying how to install it. Real-client tests call
 * this first so a missing tool fails with a clear message instead of a confusing ENOENT.
 *
 * @example const swaks = requireTool('swaks', 'apt-get install swaks');
 */
export function requireTool(name: string, install: string): string {
  const candidates = name.includes('/')
    ? [name]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .concat(['/usr/sbin', '/sbin'])
        .map((dir) => join(dir, name));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here; try the next directory
    }
  }
  throw new Error(`${name} is not installed: these tests drive the real program (install it with: ${install})`);
}
