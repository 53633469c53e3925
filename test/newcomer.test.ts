import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, type Finished, requireTool, runProgram } from '../packages/core/test/control-serve.js';
import { lockDefaultPorts } from './support/default-ports.js';

// What a new user does, on a fresh copy of the repository (the files git would commit, without
// node_modules or dist): the README's two set-up commands exactly as written, `mailhole --help`
// right after the first, clients with credentials against `mailhole serve` on its defaults, then
// stopping the main job the ways the README says, and checking that the ports are free again.
// This is the one test that uses the default ports 2525 and 8025.

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PORTS = [2525, 8025];
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The README's two set-up commands: the ```sh blocks of its "Set-up" section. */
function setupCommands(): [serve: string, test: string] {
  const section = /^## Set-up[^\n]*\n([\s\S]*?)^## /m.exec(readme)?.[1];
  const blocks = [...(section ?? '').matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => (m[1] as string).trim());
  if (blocks.length !== 2)
    throw new Error(`README.md's Set-up section should hold 2 sh blocks, found ${blocks.length}`);
  return blocks as [string, string];
}

/** The environment a user's shell has: none of the npm_* variables `pnpm test` set for this run. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm_|PNPM_SCRIPT|VITEST|MAILHOLE_)/i.test(key)) env[key] = value;
  }
  delete env.NODE_OPTIONS;
  // Nor this checkout's node_modules/.bin, which `pnpm test` put on PATH.
  env.PATH = (env.PATH ?? '')
    .split(':')
    .filter((dir) => !dir.includes('node_modules'))
    .join(':');
  return { ...env, ...extra };
}

/** Resolves when nothing listens on the port (we can bind it), or rejects saying what to do. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function expectPortsFree(when: string): Promise<void> {
  const taken: number[] = [];
  for (const port of PORTS) if (!(await portFree(port))) taken.push(port);
  if (taken.length > 0) {
    throw new Error(
      `${when}: port(s) ${taken.join(' and ')} on 127.0.0.1 are in use. This test runs \`mailhole serve\` on its ` +
        `defaults (2525, 8025); stop what listens there (ss -ltnp | grep -E ':(2525|8025)') and run it again.`,
    );
  }
}

/** A command started the way a shell starts a job: in a process group of its own. */
interface Job {
  child: ChildProcess;
  output(): string;
  exited: Promise<Finished>;
}

function startJob(command: string, args: string[], cwd: string, env = userEnv()): Job {
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<Finished>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: '' })),
  );
  jobs.push(child);
  return { child, output: () => out, exited };
}

/** Waits for `mailhole serve`'s JSON "listening" line; fails with the output if the job ends or stalls. */
async function listening(job: Job, timeout: number): Promise<{ pid: number; smtp: string; api: string }> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const line = job
      .output()
      .split('\n')
      .find((l) => l.startsWith('{"event":"listening"'));
    if (line !== undefined) return JSON.parse(line);
    if (job.child.exitCode !== null || job.child.signalCode !== null) {
      throw new Error(
        `the job ended (${job.child.exitCode ?? job.child.signalCode}) before listening:\n${job.output()}`,
      );
    }
    if (Date.now() > deadline) throw new Error(`no "listening" line within ${timeout} ms:\n${job.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function gone(pid: number, timeout = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeout;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

const jobs: ChildProcess[] = [];
const serverPids: number[] = [];
let copy: string;

let releasePorts: (() => void) | undefined;

beforeAll(async () => {
  releasePorts = await lockDefaultPorts();
  await expectPortsFree('before the newcomer test');
  requireTool('pnpm', 'npm install -g pnpm@10.34.9');
  // A fresh clone's files: tracked ones plus new ones not ignored (so uncommitted work is tested too).
  const files = (
    await runProgram('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], process.env, 30_000, root)
  ).stdout
    .split('\0')
    .filter((f) => f !== '');
  copy = mkdtempSync(join(tmpdir(), 'mailhole-newcomer-'));
  for (const file of files) {
    try {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      cpSync(join(root, file), join(copy, file));
    } catch (error) {
      // A file deleted in the work tree but still in the index: a clone would have it, we cannot.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}, 900_000);

afterAll(async () => {
  for (const child of jobs) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const pid of serverPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  if (copy) rmSync(copy, { recursive: true, force: true });
  releasePorts?.();
});

describe('a newcomer on a fresh copy, following README.md', { timeout: 600_000 }, () => {
  const [serveCommand, testCommand] = setupCommands();
  let first: Job;
  let server: { pid: number; smtp: string; api: string };

  it('the first set-up command, as written, installs with a clean log and serves on 2525 and 8025', async () => {
    first = startJob('bash', ['-c', serveCommand], copy);
    server = await listening(first, 480_000);
    serverPids.push(server.pid);

    const log = first.output();
    expect(log).not.toMatch(/WARN|Failed to create bin|Ignored build scripts|approve-builds/);
    expect(server).toMatchObject({ smtp: 'smtp://127.0.0.1:2525', api: 'http://127.0.0.1:8025' });
  });

  it('mailhole --help works right after it', async () => {
    const help = await runProgram('pnpm', ['exec', 'mailhole', '--help'], userEnv(), 60_000, copy);

    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: mailhole <command>/);
  });

  it('swaks --auth succeeds against serve with no flags', async () => {
    const swaks = requireTool('swaks', 'apt-get install swaks');
    const result = await runProgram(swaks, [
      '--server',
      '127.0.0.1:2525',
      '--from',
      'app@example.test',
      '--to',
      'ada@example.test',
      '--auth',
      'LOGIN',
      '--auth-user',
      'django',
      '--auth-password',
      'whatever',
    ]);

    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/^<- {2}235 /m);
  });

  it('Python smtplib login() succeeds against serve with no flags', async () => {
    const python = requireTool('python3', 'apt-get install python3');
    const result = await runProgram(python, [
      '-c',
      [
        'import smtplib',
        'with smtplib.SMTP("127.0.0.1", 2525, timeout=30) as client:',
        '    client.login("php-mailer", "secret")',
        '    client.sendmail("app@example.test", ["grace@example.test"], b"Subject: hi\\r\\n\\r\\nhello\\r\\n")',
        'print("sent")',
      ].join('\n'),
    ]);

    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('sent');
  });

  it('mail to user@例子.test is found by mailhole wait in both spellings', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: 2525 });
    await transport.sendMail({ from: 'app@example.test', to: 'user@例子.test', text: 'IDN' });
    transport.close();

    for (const to of ['user@例子.test', 'user@xn--fsqu00a.test']) {
      const wait = await runProgram(
        'pnpm',
        ['exec', 'mailhole', 'wait', '--to', to, '--timeout', '10s'],
        userEnv(),
        60_000,
        copy,
      );
      expect(wait.code, `${to}: ${wait.stdout}${wait.stderr}`).toBe(0);
    }
  });

  it('Ctrl-C (SIGINT to the command, as a terminal sends it) stops it cleanly and frees the ports', async () => {
    process.kill(-(first.child.pid as number), 'SIGINT');
    await first.exited;

    expect(await gone(server.pid)).toBe(true);
    expect(first.output()).toContain('{"event":"summary","signal":"SIGINT"');
    await expectPortsFree('after Ctrl-C');
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'the main job started in the background (pnpm exec mailhole serve &) stops on kill -%s <pid>',
    async (signal) => {
      const job = startJob('pnpm', ['exec', 'mailhole', 'serve'], copy);
      const started = await listening(job, 60_000);
      serverPids.push(started.pid);

      process.kill(job.child.pid as number, signal); // the PID a shell's $! gives: pnpm's
      await job.exited;

      expect(await gone(started.pid)).toBe(true);
      // pnpm passes either signal on as SIGTERM: what counts is the clean stop and its summary.
      expect(job.output()).toContain('{"event":"summary","signal":"SIG');
      await expectPortsFree(`after kill -${signal}`);
    },
  );

  it('CI runs the README test command: .ci/run installs the same pnpm and runs pnpm test', () => {
    const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
    const pnpmVersion = /pnpm@(\d+\.\d+\.\d+)/.exec(testCommand)?.[1];

    expect(testCommand).toMatch(/pnpm install && pnpm test$/);
    expect(ci).toContain(`pnpm@${pnpmVersion}`);
    expect(ci).toMatch(/^capped \S+ pnpm test$/m);
  });

  it('the second set-up command, as written, installs and runs the tests (narrowed to one file)', async () => {
    // The whole suite runs in CI through this very command (.ci/run); here one file shows it works.
    const result = await runProgram(
      'bash',
      ['-c', testCommand],
      userEnv({ MAILHOLE_TEST_ONLY: 'test/idn-addresses.test.ts' }),
      480_000,
      copy,
    );

    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the colours of Vitest's summary
    expect(result.stdout.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests\s+\d+ passed/);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/WARN|Failed to create bin|Ignored build scripts/);
  });
});
