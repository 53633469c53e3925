// Runs a client process and collects what it printed, with the wall time around it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tools } from './tools.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** `command args`, run under prlimit when the open-file limit is below `files` (and prlimit is there). */
function withFileLimit(command, args, files) {
  if (files === undefined || tools.fileLimit.soft >= files || tools.prlimit === undefined) return [command, args];
  return [tools.prlimit, [`--nofile=${files}:${Math.max(files, tools.fileLimit.hard)}`, command, ...args]];
}

/** Runs `command args` to its end: { code, stdout, stderr, wallMs }. `files` raises its open-file limit. */
export function run(command, args, { files, timeoutMs = 300_000, env } = {}) {
  const [cmd, argv] = withFileLimit(command, args, files);
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, stdout, stderr, wallMs: performance.now() - start });
    });
  });
}

/** The last JSON line a client printed. */
export function lastJson(stdout) {
  const lines = stdout
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('{'));
  if (lines.length === 0) throw new Error(`expected a JSON line, got: ${stdout.slice(0, 300)}`);
  return JSON.parse(lines[lines.length - 1]);
}

/**
 * Starts a long-running client (the idle-connection one), resolves with its first JSON line and a
 * `stop()` that ends it by closing its standard input.
 */
export function startHolding(command, args, { files } = {}) {
  const [cmd, argv] = withFileLimit(command, args, files);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    const exited = new Promise((r) => child.once('exit', r));
    child.on('error', reject);
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code} before it reported`)));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (!stdout.includes('\n')) return;
      resolve({
        report: JSON.parse(stdout.split('\n')[0]),
        async stop() {
          child.stdin.end();
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        },
      });
    });
  });
}
