// Starts and stops the servers under test, each in its own process, and reads what they cost:
// CPU time from /proc (the same way for every server), memory and counts from the Node ones over IPC.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { sleep } from './stats.mjs';
import { tools } from './tools.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const serverChild = fileURLToPath(new URL('./server-child.mjs', import.meta.url));
const cliMain = fileURLToPath(new URL('../../packages/core/dist/esm/cli/main.js', import.meta.url));
const TICK_MS = 1000 / (Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100);

/**
 * CPU milliseconds a process and every process below it have used so far: `user` (the process's own
 * code: for Node, JavaScript and the runtime) and `system` (the kernel working for it: sockets).
 */
export function cpuMs(pid) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), { ppid: Number(fields[1]), user: Number(fields[11]), system: Number(fields[12]) });
    } catch {
      // The process ended while we looked.
    }
  }
  let user = 0;
  let system = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const current = pending.pop();
    const info = parents.get(current);
    user += info?.user ?? 0;
    system += info?.system ?? 0;
    for (const [child, entry] of parents) if (entry.ppid === current) pending.push(child);
  }
  return { user: user * TICK_MS, system: system * TICK_MS, total: (user + system) * TICK_MS };
}

/** Resident set size of a process in bytes, from /proc (for servers that cannot tell us themselves). */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/** A free TCP port on 127.0.0.1 (for servers that cannot pick their own and tell us). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves once something on `port` answers with a 220 greeting (or rejects after `timeoutMs`). */
export async function waitForGreeting(port, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      let text = '';
      const done = (value) => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(2000, () => done(false));
      socket.on('error', () => done(false));
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
        if (text.includes('\n')) {
          socket.end('QUIT\r\n');
          done(text.startsWith('220'));
        }
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no SMTP greeting on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** `command args` run with at least `files` open files allowed (through prlimit when the current limit is lower). */
function withFileLimit(command, args, files) {
  if (files === undefined || tools.fileLimit.soft >= files) return { command, args };
  if (tools.prlimit === undefined) {
    throw new Error(
      `needs ${files} open files but the limit is ${tools.fileLimit.soft} and prlimit (util-linux) is missing`,
    );
  }
  const hard = Math.max(files, tools.fileLimit.hard);
  return { command: tools.prlimit, args: [`--nofile=${files}:${hard}`, command, ...args] };
}

function ipcRequest(child, type) {
  return new Promise((resolve, reject) => {
    const onMessage = (message) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code) => reject(new Error(`server process exited (${code}) before answering "${type}"`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ type });
  });
}

/**
 * A Node server (`mailhole` through startSink, or nodemailer's `smtp-server`) in its own process.
 * `execArgv` adds Node flags (e.g. --cpu-prof); `files` raises the open-file limit.
 */
export async function startNodeServer(label, config, { execArgv = [], files, env } = {}) {
  const { command, args } = withFileLimit(
    process.execPath,
    ['--expose-gc', ...execArgv, serverChild, JSON.stringify(config)],
    files,
  );
  const child = spawn(command, args, {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  const { port, ca } = await ipcRequestStart(child);
  return {
    label,
    kind: config.kind,
    port,
    /** PEM of the CA that signed a TLS mailhole's certificate (each process makes its own). */
    ca,
    pid: child.pid,
    cpuMs: () => cpuMs(child.pid),
    rss: () => rssBytes(child.pid),
    stats: () => ipcRequest(child, 'stats'),
    gc: () => ipcRequest(child, 'gc'),
    samples: async () => (await ipcRequest(child, 'samples')).samples,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // The child closes its server (every connection gets its 421) and exits when the channel closes.
      await sendClose(child);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function sendClose(child) {
  return new Promise((resolve) => {
    if (!child.connected) return resolve();
    child.send({ type: 'close' }, () => resolve());
  });
}

function ipcRequestStart(child) {
  return new Promise((resolve, reject) => {
    child.once('message', (message) => {
      if (message.type === 'listening') resolve(message);
      else reject(new Error(`unexpected first message ${JSON.stringify(message)}`));
    });
    child.once('exit', (code) => reject(new Error(`server process exited with ${code} before listening`)));
  });
}

/** Postfix's smtp-sink, the C reference: `-m` bounds its concurrency (default 256), `files` its open files. */
export async function startSmtpSink({ maxConcurrency = 256, backlog = 1024, files } = {}) {
  if (tools.smtpSink === undefined) throw new Error('smtp-sink (Debian package postfix) is not installed');
  const port = await freePort();
  // smtp-sink refuses to run as root unless told which user to become.
  const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  const { command, args } = withFileLimit(
    tools.smtpSink,
    [...user, '-m', String(maxConcurrency), `127.0.0.1:${port}`, String(backlog)],
    files,
  );
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  await Promise.race([
    waitForGreeting(port),
    new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`smtp-sink exited with ${code}`)))),
  ]);
  return processHandle('smtp-sink', 'smtp-sink', port, child);
}

/** `mailhole serve --workers N` (node:cluster), on a free port, no control API. */
export async function startMailholeServe(workers, extraArgs = []) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [cliMain, 'serve', '--port', String(port), '--no-api', '--log', 'none', '--workers', String(workers), ...extraArgs],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await Promise.race([
    waitForGreeting(port, 20_000),
    new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`mailhole serve exited with ${code}`)))),
  ]);
  return processHandle(`mailhole serve --workers ${workers}`, 'mailhole-serve', port, child);
}

function processHandle(label, kind, port, child) {
  return {
    label,
    kind,
    port,
    pid: child.pid,
    cpuMs: () => cpuMs(child.pid),
    rss: () => rssBytes(child.pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
