import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CLI,
  requireTool,
  runCli,
  runProgram,
  type ServeProcess,
  spawnServe,
  stopServers,
} from '../packages/core/test/control-serve.js';
import { lockDefaultPorts } from './support/default-ports.js';

const pkg = JSON.parse(readFileSync(new URL('../packages/core/package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const cleanups: Array<() => Promise<unknown> | unknown> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await stopServers();
});

function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build @mailhole/core first (pnpm build)`);
}

async function serve(args: string[]): Promise<ServeProcess> {
  return spawnServe(['--port', '0', '--api-port', '0', ...args]);
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mailhole-cli-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Holds a port (like another program would) until the test ends; resolves false if someone else holds it. */
function occupy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server: Server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      cleanups.push(() => new Promise((r) => server.close(r)));
      resolve(true);
    });
  });
}

async function swaks(port: number, args: string[] = []): Promise<void> {
  const program = requireTool('swaks', 'apt-get install swaks');
  const result = await runProgram(program, [
    '--server',
    `127.0.0.1:${port}`,
    '--from',
    'ci@test.example',
    '--to',
    'user@test.example',
    ...args,
  ]);
  if (result.code !== 0) throw new Error(`swaks failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
}

describe('mailhole serve, wait and stats, run as a user would', () => {
  it('serve + swaks + wait: wait exits 0 once the mail arrived', async () => {
    const server = await serve([]);
    await swaks(server.port, ['--header', 'Subject: from CI']);

    const result = await runCli(['wait', '--api', server.api, '--count', '1', '--timeout', '10s']);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`mailhole wait: 1 delivery arrived at ${server.listening.smtp}`);
    expect(result.stdout).toContain('accepted from <ci@test.example> to user@test.example');
  });

  it('wait exits 1 at its timeout and lists what did arrive', async () => {
    const server = await serve([]);
    await swaks(server.port);

    const result = await runCli(['wait', '--api', server.api, '--count', '2', '--timeout', '300ms']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('mailhole wait: timed out after 300 ms with 1 of 2 deliveries.');
    expect(result.stderr).toContain('1 accepted and 0 rejected deliveries');
    expect(result.stderr).toContain('accepted from <ci@test.example> to user@test.example');
  });

  it('wait --to counts only deliveries to that recipient', async () => {
    const server = await serve([]);
    await swaks(server.port, ['--to', 'other@test.example']);

    const missing = await runCli(['wait', '--api', server.api, '--to', 'me@test.example', '--timeout', '300ms']);
    await swaks(server.port, ['--to', 'me@test.example']);
    const found = await runCli(['wait', '--api', server.api, '--to', 'me@test.example', '--timeout', '10s']);

    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('0 of 1 matching deliveries ({"to":"me@test.example"})');
    expect(found.code).toBe(0);
  });

  it('wait --since-mark counts only what came after mailhole mark', async () => {
    const server = await serve([]);
    await swaks(server.port);

    const mark = await runCli(['mark', '--api', server.api]);
    const before = await runCli(['wait', '--api', server.api, '--since-mark', '--timeout', '300ms']);
    await swaks(server.port);
    const after = await runCli(['wait', '--api', server.api, '--since-mark', '--timeout', '10s']);

    expect(mark.stdout).toMatch(/^1:1\n$/);
    expect(before.code).toBe(1);
    expect(after.code).toBe(0);
  });

  it('wait finds the API through MAILHOLE_API_URL and exits 3 naming it when it cannot reach it', async () => {
    const server = await serve([]);
    await swaks(server.port);
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });

    const found = await runCli(['wait', '--timeout', '5s'], { MAILHOLE_API_URL: server.api });
    const unreachable = await runCli(['wait'], { MAILHOLE_API_URL: `http://127.0.0.1:${port}` });

    expect(found.code).toBe(0);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain(
      `cannot reach the mailhole control API at http://127.0.0.1:${port} (ECONNREFUSED)`,
    );
  });

  it('stats prints every counter, and JSON with --json', async () => {
    const server = await serve([]);
    await swaks(server.port);

    const text = await runCli(['stats', '--api', server.api]);
    const json = await runCli(['stats', '--api', server.api, '--json']);

    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^\s+accepted\s+1$/m);
    expect(text.stdout).toMatch(/^\s+recipientsAccepted\s+1$/m);
    expect(JSON.parse(json.stdout)).toMatchObject({ accepted: 1, transactions: 1, rejected: 0 });
  });

  it('stats and wait send the token a protected API needs', async () => {
    const server = await serve(['--token', 'cli-secret']);

    const refused = await runCli(['stats', '--api', server.api]);
    const allowed = await runCli(['stats', '--api', server.api, '--token', 'cli-secret', '--json']);
    const fromEnv = await runCli(['stats', '--api', server.api, '--json'], { MAILHOLE_API_TOKEN: 'cli-secret' });

    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('401 Unauthorized');
    expect(JSON.parse(allowed.stdout).accepted).toBe(0);
    expect(fromEnv.code).toBe(0);
  });

  it.each(['serve', 'wait', 'stats', 'mark'])('%s --help explains the command with examples', async (command) => {
    const result = await runCli([command, '--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: mailhole ${command}`);
    expect(result.stdout).toMatch(/Examples?\n {2}mailhole /);
  });

  it('--help lists the commands, --version prints the package version', async () => {
    const help = await runCli(['--help']);
    const version = await runCli(['--version']);

    expect(help.stdout).toMatch(/serve .*\n {2}wait .*\n {2}stats .*\n {2}mark /);
    expect(version.stdout).toBe(`${pkg.version}\n`);
  });

  it('names a bad flag and exits 2', async () => {
    const badPort = await runCli(['serve', '--port', 'twenty']);
    const unknown = await runCli(['serve', '--colour', 'red']);
    const badCapture = await runCli(['serve', '--capture', 'all']);

    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('--port must be a port (0-65535, 0 = any free port) or a range such as 2525-2535');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--colour'");
    expect(badCapture.stderr).toContain('--capture must be count, envelope or full');
  });

  it('takes the first free port of a --port range', async () => {
    const probe = createServer();
    const first = await new Promise<number>((resolve) =>
      probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)),
    );
    cleanups.push(() => new Promise((r) => probe.close(r)));

    const server = await spawnServe(['--port', `${first}-${first + 20}`, '--api-port', '0']);

    expect(server.port).toBeGreaterThan(first);
    expect(server.port).toBeLessThanOrEqual(first + 20);
    await swaks(server.port);
    expect(JSON.parse((await runCli(['stats', '--api', server.api, '--json'])).stdout).accepted).toBe(1);
  });

  it('with no flags serves SMTP on 127.0.0.1:2525 and says so when that port is taken', {
    timeout: 660_000,
  }, async () => {
    cleanups.push(await lockDefaultPorts());
    await occupy(2525);

    const result = await runCli(['serve']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('127.0.0.1:2525 is already in use; choose another --port');
  });

  it('serves the control API on 127.0.0.1:8025 by default and says so when that port is taken', {
    timeout: 660_000,
  }, async () => {
    cleanups.push(await lockDefaultPorts());
    await occupy(8025);

    const result = await runCli(['serve', '--port', '0']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('127.0.0.1:8025 is already in use; choose another --api-port');
  });

  it('--starttls --ca-file writes the CA that curl verifies the server with', async () => {
    const curl = requireTool('curl', 'apt-get install curl');
    const dir = await tempDir();
    const caFile = join(dir, 'ca.pem');
    const mail = join(dir, 'mail.txt');
    await writeFile(mail, 'From: ci@test.example\r\nTo: user@test.example\r\nSubject: over STARTTLS\r\n\r\nhello\r\n');
    const server = await serve(['--starttls', '--ca-file', caFile]);

    const result = await runProgram(curl, [
      '--silent',
      '--show-error',
      '--ssl-reqd',
      '--cacert',
      caFile,
      `smtp://localhost:${server.port}`,
      '--mail-from',
      'ci@test.example',
      '--mail-rcpt',
      'user@test.example',
      '--upload-file',
      mail,
    ]);
    const deliveries = await (await fetch(`${server.api}/api/deliveries`)).json();

    expect(server.listening.ca).toBe(caFile);
    expect(await readFile(caFile, 'utf8')).toContain('-----BEGIN CERTIFICATE-----');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(deliveries.deliveries[0].tls).toMatchObject({ mode: 'starttls' });
  });

  it('reads startSink options from --config, flags overriding them', async () => {
    const dir = await tempDir();
    const config = join(dir, 'mailhole.json');
    await writeFile(config, JSON.stringify({ capture: 'full', maxMessageSize: 1000, hostname: 'config.test' }));

    const server = await serve(['--config', config, '--max-message-size', '2K']);
    const info = await (await fetch(`${server.api}/api/info`)).json();

    expect(info.options).toMatchObject({ capture: 'full', maxMessageSize: 2048 });
    const bad = await runCli(['serve', '--port', '0', '--api-port', '0', '--config', join(dir, 'missing.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('missing.json: cannot read it (ENOENT)');
  });

  it('prints a JSON line per connection and delivery with --log events', async () => {
    const server = await serve(['--log', 'events']);
    await swaks(server.port);
    await runCli(['wait', '--api', server.api]);

    const { stdout } = await server.stop('SIGTERM');
    const events = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).event);

    expect(events).toEqual(expect.arrayContaining(['listening', 'connection', 'delivery', 'disconnect', 'summary']));
  });

  it('on SIGTERM closes, prints a summary and exits 0', async () => {
    const server = await serve([]);
    await swaks(server.port);
    await swaks(server.port);

    const { code, signal, stdout } = await server.stop('SIGTERM');
    const summary = JSON.parse(stdout.trim().split('\n').pop() as string);

    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(summary).toMatchObject({ event: 'summary', signal: 'SIGTERM', accepted: 2, connections: 2 });
  });

  it('--log live shows a one-line counter redrawn in place, and a summary at the end', async () => {
    requireBuild();
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--api-port', '0', '--log', 'live'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    let stdout = '';
    const printed = (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve) => {
        const check = (): void => {
          const m = pattern.exec(stdout);
          if (m === null) return;
          child.stdout.off('data', check);
          resolve(m);
        };
        child.stdout.on('data', check);
        check();
      });
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    const exited = new Promise((resolve) => child.once('exit', resolve));

    const [, port] = await printed(/SMTP {6}smtp:\/\/127\.0\.0\.1:(\d+)/);
    await swaks(Number(port));
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the live counter redraws its line with ESC [2K
    await printed(/\r\x1b\[2Kconnections 1 \(0 open\) · accepted 1 · rejected 0 · [\d.]+ msg\/s/);
    child.kill('SIGTERM');
    await exited;

    expect(stdout).toContain(`mailhole ${pkg.version} is listening`);
    expect(stdout).toMatch(/mailhole stopped \(SIGTERM\) after [\d.]+ s: 1 accepted, 0 rejected, 1 connection\(s\)/);
  });

  it('on SIGINT does the same', async () => {
    const server = await serve([]);

    const { code, stdout } = await server.stop('SIGINT');

    expect(code).toBe(0);
    expect(stdout).toContain('"event":"summary","signal":"SIGINT"');
  });
});
