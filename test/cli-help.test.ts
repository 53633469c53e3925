import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARK_FLAGS, STATS_FLAGS, WAIT_FLAGS } from '../packages/core/src/cli/client.js';
import { FLAGS as SERVE_FLAGS } from '../packages/core/src/cli/serve-flags.js';
import { runCli, type ServeProcess, spawnServe, stopServers } from '../packages/core/test/control-serve.js';

// Every flag a command takes is in its --help and in the README; every exit code is listed in its
// --help and the README's table, and each one a test can bring about is brought about here.

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const cliSection = /^## The `mailhole` CLI\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';

const commands = {
  serve: SERVE_FLAGS,
  wait: WAIT_FLAGS,
  stats: STATS_FLAGS,
  mark: MARK_FLAGS,
} as const;
type Command = keyof typeof commands | '';

/** The codes of a --help text's "Exit codes" section. */
function helpExitCodes(help: string): number[] {
  const section = /^Exit codes\n((?: {2}\d+ .*\n?)+)/m.exec(help)?.[1] ?? '';
  return [...section.matchAll(/^ {2}(\d+) /gm)].map((m) => Number(m[1]));
}

/** The codes the README's exit-code table fills in for one column. */
function readmeExitCodes(column: Command): number[] {
  const table = /^\| code \|.*\n\|[- |]+\n((?:\|.*\n)+)/m.exec(cliSection)?.[1] ?? '';
  const index = { serve: 1, wait: 2, stats: 3, mark: 3, '': 4 }[column];
  return table
    .trim()
    .split('\n')
    .map((row) => row.split('|').map((cell) => cell.trim()))
    .filter((cells) => (cells[index + 1] ?? '') !== '')
    .map((cells) => Number(cells[1]));
}

describe('every flag is documented', () => {
  it.each(Object.keys(commands) as Array<keyof typeof commands>)(
    'mailhole %s --help and the README name each of its flags',
    async (command) => {
      const help = await runCli([command, '--help']);
      const flags = Object.keys(commands[command]).map((name) => `--${name}`);

      expect(help.code).toBe(0);
      expect(flags.filter((flag) => !new RegExp(`${flag}\\b(?!-)`).test(help.stdout))).toEqual([]);
      expect(flags.filter((flag) => !new RegExp(`${flag}\\b(?!-)`).test(cliSection))).toEqual([]);
    },
  );
});

describe('every exit code is documented in --help and the README, the same', () => {
  it.each(['', 'serve', 'wait', 'stats', 'mark'] as Command[])('mailhole %s', async (command) => {
    const help = await runCli(command === '' ? ['--help'] : [command, '--help']);
    const codes = helpExitCodes(help.stdout);

    expect(codes.length).toBeGreaterThan(1);
    expect(codes).toEqual(readmeExitCodes(command));
  });
});

describe('the exit codes happen as documented', () => {
  let server: ServeProcess;
  let closedPort: number;
  let holder: Server;

  beforeAll(async () => {
    server = await spawnServe(['--port', '0', '--api-port', '0']);
    // A port that surely refuses: bound, then closed.
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    closedPort = (holder.address() as { port: number }).port;
    await new Promise<void>((resolve) => holder.close(() => resolve()));
  });

  afterAll(async () => {
    await stopServers();
  });

  const api = () => ['--api', server.api];

  it('mailhole: 0 for --help and --version, 2 with no command or an unknown one', async () => {
    expect((await runCli(['--help'])).code).toBe(0);
    expect((await runCli(['--version'])).code).toBe(0);
    expect((await runCli([])).code).toBe(2);
    const unknown = await runCli(['serv']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "serv"');
  });

  it('serve: 0 after SIGTERM, 1 when its port is taken (naming the flag), 2 for a bad value', async () => {
    const other = await spawnServe(['--port', '0', '--api-port', '0']);
    const stopped = await other.stop('SIGTERM');
    const taken = await runCli(['serve', '--port', String(server.port), '--api-port', '0']);
    const bad = await runCli(['serve', '--port', 'smtp']);

    expect(stopped.code).toBe(0);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('choose another --port');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--port must be a port');
  });

  it('wait: 0 when the mail arrived, 1 on timeout with a report, 2 for a bad flag, 3 without a sink', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: server.port });
    await transport.sendMail({ from: 'app@example.test', to: 'ada@example.test', text: 'hi' });
    transport.close();

    const arrived = await runCli(['wait', ...api(), '--to', 'ada@example.test', '--timeout', '10s']);
    const timedOut = await runCli(['wait', ...api(), '--count', '2', '--timeout', '200ms']);
    const bad = await runCli(['wait', ...api(), '--count', 'many']);
    const noSink = await runCli(['wait', '--api', `http://127.0.0.1:${closedPort}`, '--timeout', '1s']);

    expect(arrived.code, arrived.stderr).toBe(0);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toContain('timed out after 200 ms with 1 of 2 deliveries');
    expect(bad.code).toBe(2);
    expect(noSink.code).toBe(3);
    expect(noSink.stderr).toContain('cannot reach the mailhole control API');
  });

  it('wait --since-mark: the report says what came after the mark, with no dangling colon', async () => {
    const mark = await runCli(['mark', ...api()]);
    const timedOut = await runCli(['wait', ...api(), '--since-mark', '--timeout', '200ms']);

    expect(mark.code).toBe(0);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toContain('Since the mark: 0 accepted and no delivery record after it.');
    expect(timedOut.stderr).not.toMatch(/:\s*$/);
  });

  it.each(['stats', 'mark'])('%s: 0 against a sink, 2 for a bad flag, 3 without a sink', async (command) => {
    expect((await runCli([command, ...api()])).code).toBe(0);
    expect((await runCli([command, '--bogus'])).code).toBe(2);
    expect((await runCli([command, '--api', `http://127.0.0.1:${closedPort}`])).code).toBe(3);
  });
});

describe('serve without a terminal', () => {
  it('prints its listening line and no counters line until something changed', async () => {
    const quiet = await spawnServe(['--port', '0', '--api-port', '0']);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: quiet.port });
    const before = quiet.stdout();
    await transport.sendMail({ from: 'app@example.test', to: 'ada@example.test', text: 'hi' });
    transport.close();
    const { stdout } = await quiet.stop('SIGTERM');

    expect(before).not.toContain('"event":"stats"');
    expect(stdout.split('\n').filter((l) => l.includes('"event":"stats"') && l.includes('"accepted":0,'))).toEqual([]);
  });
});
