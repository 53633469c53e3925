import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bounceReplies, connectSink } from '@mailhole/core';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  requireTool,
  runCli,
  runProgram,
  type ServeProcess,
  spawnServe,
  stopServers,
} from '../packages/core/test/control-serve.js';
import { WireClient } from './support/smtp-wire.js';

// `mailhole serve` behaviour flags, each seen by a real client: what nodemailer, swaks or a raw
// SMTP session gets back from the served sink.

const cleanups: Array<() => Promise<unknown> | unknown> = [];
const bounceCodes = bounceReplies.map((r) => r.code);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await stopServers();
});

function serve(args: string[]): Promise<ServeProcess> {
  return spawnServe(['--port', '0', '--api-port', '0', ...args]);
}

async function tempFile(name: string, content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mailhole-cli-behaviour-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const letter = { from: 'app@test.example', to: 'user@test.example', subject: 'behaviour', text: 'hello' };

type Outcome =
  | { ok: true; info: SMTPTransport.SentMessageInfo }
  | { ok: false; error: { responseCode?: number; response?: string; code?: string; message: string } };

/** Sends with nodemailer and tells how it went, without throwing. */
async function send(port: number, mail: Mail.Options = {}, options: SMTPTransport.Options = {}): Promise<Outcome> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ...options });
  cleanups.push(() => transport.close());
  return transport.sendMail({ ...letter, ...mail }).then(
    (info) => ({ ok: true, info }),
    (error) => ({ ok: false, error }),
  );
}

/** The reply code a send ended with: 250 when accepted. */
async function code(port: number, mail: Mail.Options = {}, options: SMTPTransport.Options = {}): Promise<number> {
  const outcome = await send(port, mail, options);
  if (outcome.ok) return Number.parseInt(outcome.info.response, 10);
  if (outcome.error.responseCode === undefined) throw new Error(`no reply code: ${outcome.error.message}`);
  return outcome.error.responseCode;
}

describe('mailhole serve: modes, seed and delays', () => {
  it('honours X-Blackhole-Mode by default: a message asking for bounce gets a bounce code', async () => {
    const server = await serve([]);

    const bounced = await code(server.port, { headers: { 'X-Blackhole-Mode': 'bounce' } });
    const plain = await code(server.port);

    expect(bounceCodes).toContain(bounced);
    expect(plain).toBe(250);
    expect(server.listening).toMatchObject({ behaviour: expect.stringContaining('header switches on') });
  });

  it('--no-header-switches ignores the switch headers', async () => {
    const server = await serve(['--no-header-switches']);

    expect(await code(server.port, { headers: { 'X-Blackhole-Mode': 'bounce' } })).toBe(250);
  });

  it('--mode bounce refuses every message with a code from the bounce set', async () => {
    const server = await serve(['--mode', 'bounce']);

    const codes = [await code(server.port), await code(server.port)];

    expect(codes.every((c) => bounceCodes.includes(c))).toBe(true);
    expect((await connectSink(server.api)).info.options.mode).toBe('bounce');
  });

  it('--mode random --accept-ratio 0 bounces, --accept-ratio 1 accepts', async () => {
    const [never, always] = await Promise.all([
      serve(['--mode', 'random', '--accept-ratio', '0']),
      serve(['--mode', 'random', '--accept-ratio', '1']),
    ]);

    const refused = [await code(never.port), await code(never.port), await code(never.port)];
    const accepted = [await code(always.port), await code(always.port), await code(always.port)];

    expect(refused.every((c) => bounceCodes.includes(c))).toBe(true);
    expect(accepted).toEqual([250, 250, 250]);
  });

  it('--seed repeats the same random replies, and is reported at start and in /api/info', async () => {
    const [first, second] = await Promise.all([
      serve(['--mode', 'random', '--seed', '4242']),
      serve(['--mode', 'random', '--seed', '4242']),
    ]);

    const run = async (port: number) => {
      const codes: number[] = [];
      for (let i = 0; i < 8; i++) codes.push(await code(port));
      return codes;
    };
    const [a, b] = [await run(first.port), await run(second.port)];

    expect(a).toEqual(b);
    expect(new Set(a).size).toBeGreaterThan(1);
    expect(first.listening).toMatchObject({ seed: 4242 });
    expect((await connectSink(first.api)).seed).toBe(4242);
  });

  it('--delay STAGE=DELAY holds that reply: a client with a short greeting timeout gives up', async () => {
    const server = await serve(['--delay', 'greeting=30s']);

    const outcome = await send(server.port, {}, { greetingTimeout: 300 });

    expect(outcome).toMatchObject({ ok: false, error: { code: 'ETIMEDOUT' } });
  });

  it('--delay with a range holds the final reply: the client got to its message, then timed out waiting', async () => {
    const server = await serve(['--delay', '20s-30s']);

    const outcome = await send(server.port, {}, { socketTimeout: 3000 });
    const stats = await (await connectSink(server.api)).stats();

    expect(outcome).toMatchObject({ ok: false, error: { code: 'ETIMEDOUT' } });
    expect(stats).toMatchObject({ transactions: 1, accepted: 0 });
  });

  it('--lenient takes MAIL before EHLO, which the strict default refuses', async () => {
    const [lenient, strict] = await Promise.all([serve(['--lenient']), serve([])]);
    const replies: number[] = [];
    for (const server of [lenient, strict]) {
      const wire = await WireClient.open(server.port);
      cleanups.push(() => wire.destroy());
      await wire.expect(220);
      replies.push((await wire.command('MAIL FROM:<app@test.example>\r\n')).code);
    }

    expect(replies).toEqual([250, 503]);
  });
});

describe('mailhole serve: AUTH', () => {
  // AUTH is on by default, as with the black-hole MTA, Mailpit and smtp4dev: clients configured
  // with credentials work against a bare `mailhole serve`. (Before, this needed --auth.)
  it.each([
    ['no AUTH flag', []],
    ['--auth', ['--auth']],
  ])('with %s, serve offers AUTH and accepts any user and password (swaks)', async (_name, flags) => {
    const swaks = requireTool('swaks', 'apt-get install swaks');
    const server = await serve(flags);

    const result = await runProgram(swaks, [
      '--server',
      `127.0.0.1:${server.port}`,
      '--from',
      letter.from,
      '--to',
      letter.to,
      '--auth',
      'PLAIN',
      '--auth-user',
      'anyone',
      '--auth-password',
      'anything',
    ]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^<- {2}250-AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2/m);
    expect(result.stdout).toMatch(/^<- {2}235 /m);
  });

  it('with no AUTH flag, Python smtplib login() succeeds with any credentials and the user is recorded', async () => {
    const python = requireTool('python3', 'apt-get install python3');
    const server = await serve([]);
    const script = [
      'import smtplib, sys',
      'with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30) as client:',
      '    client.login("django", "any password")',
      '    client.sendmail("app@test.example", ["user@test.example"], b"Subject: hi\\r\\n\\r\\nhello\\r\\n")',
      'print("sent")',
    ].join('\n');

    const result = await runProgram(python, ['-c', script, String(server.port)]);
    const [record] = await connectSink(server.api).then((remote) => remote.deliveries());

    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('sent');
    expect(record?.user).toBe('django');
  });

  it('--no-auth offers no AUTH: EHLO lists none, AUTH gets 502, smtplib login() fails', async () => {
    const server = await serve(['--no-auth']);
    const wire = await WireClient.open(server.port);
    cleanups.push(() => wire.destroy());
    await wire.expect(220);

    const ehlo = await wire.command('EHLO client.test');
    const auth = await wire.command('AUTH PLAIN AGFkYQBzM2NyZXQ=');
    // nodemailer skips AUTH it is not offered and sends anyway; smtplib's login() refuses.
    const python = requireTool('python3', 'apt-get install python3');
    const login = await runProgram(python, [
      '-c',
      'import smtplib, sys\nwith smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30) as c: c.login("ada", "s3cret")',
      String(server.port),
    ]);

    expect(ehlo.lines.join('\n')).not.toMatch(/AUTH/);
    expect(auth.last).toMatch(/^502 .*--no-auth/);
    expect(login.code).not.toBe(0);
    expect(login.stderr).toContain('SMTP AUTH extension not supported by server');
  });

  it('--no-auth with --require-auth (or --auth, --auth-users) is a usage error, exit 2', async () => {
    const result = await runCli(['serve', '--port', '0', '--api-port', '0', '--no-auth', '--require-auth']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--no-auth and --require-auth contradict each other');
  });

  it('--auth-users FILE (user:password lines) lets those users in, refuses a wrong password, never prints one', async () => {
    const users = await tempFile('users.txt', '# test users\nalice:s3cret:with-colon\nbob:hunter2\n');
    const server = await serve(['--auth-users', users]);

    const right = await code(server.port, {}, { auth: { user: 'alice', pass: 's3cret:with-colon' } });
    const wrong = await code(server.port, {}, { auth: { user: 'bob', pass: 'guess' } });
    const { stdout, stderr } = await server.stop();

    expect(right).toBe(250);
    expect(wrong).toBe(535);
    expect(stdout).toContain('AUTH offered (2 user(s))');
    expect(`${stdout}${stderr}`).not.toMatch(/s3cret|hunter2/);
  });

  it('--auth-users FILE reads a JSON object of users too', async () => {
    const users = await tempFile('users.json', JSON.stringify({ carol: 'pa55' }));
    const server = await serve(['--auth-users', users]);

    expect(await code(server.port, {}, { auth: { user: 'carol', pass: 'pa55' } })).toBe(250);
  });

  it('--require-auth refuses MAIL with 530 until the client authenticated', async () => {
    const server = await serve(['--require-auth']);

    const anonymous = await code(server.port);
    const authenticated = await code(server.port, {}, { auth: { user: 'dave', pass: 'x' } });

    expect(anonymous).toBe(530);
    expect(authenticated).toBe(250);
  });
});

describe('mailhole serve --fault', () => {
  it('fail-next:CODE and bounce-recipient:PATTERN short forms', async () => {
    const server = await serve(['--fault', 'fail-next:554', '--fault', 'bounce-recipient:/^gone-/i']);

    const failed = await code(server.port);
    const next = await code(server.port);
    const partly = await send(server.port, { to: ['Gone-1@test.example', 'here@test.example'] });

    expect(failed).toBe(554);
    expect(next).toBe(250);
    expect(partly).toMatchObject({ ok: true, info: { rejected: ['Gone-1@test.example'] } });
  });

  it('STAGE=ACTION and a JSON rule', async () => {
    const server = await serve([
      '--fault',
      'mail=550 5.7.1 Sender refused',
      '--fault',
      '{"name":"spam","stage":"rcpt","match":{"recipient":"*@spam.test"},"action":"554 5.7.1 No spam"}',
    ]);

    const refused = await send(server.port);
    const remote = await connectSink(server.api);
    await remote.faults.remove((await remote.faults.list())[0]?.name as string);
    const spam = await send(server.port, { to: 'x@spam.test' });

    expect(refused).toMatchObject({ ok: false, error: { response: '550 5.7.1 Sender refused' } });
    expect(spam).toMatchObject({ ok: false, error: { response: '554 5.7.1 No spam' } });
  });

  it('greylist refuses each first attempt with 451 4.7.1 and accepts the retry', async () => {
    const server = await serve(['--fault', 'greylist']);

    const first = await send(server.port);
    const retry = await code(server.port);

    expect(first).toMatchObject({ ok: false, error: { response: expect.stringMatching(/^451 4\.7\.1 /) } });
    expect(retry).toBe(250);
    expect((await (await connectSink(server.api)).faults.list()).map((r) => r.name)).toEqual(['greylist-1']);
  });

  it('disconnect:STAGE answers 421 at that stage and closes', async () => {
    const server = await serve(['--fault', 'disconnect:rcpt']);

    expect(await code(server.port)).toBe(421);
    expect(await code(server.port)).toBe(250);
  });
});

describe('mailhole serve: --config and workers', () => {
  it('reads the behaviour keys from --config, with the short forms and a users file beside it', async () => {
    const users = await tempFile('users.txt', 'erin:open-sesame\n');
    const config = join(users, '..', 'mailhole.json');
    await writeFile(
      config,
      JSON.stringify({
        headerSwitches: false,
        faults: ['bounce-recipient:*@gone.test'],
        auth: { users: 'users.txt' },
        requireAuth: true,
        seed: 9,
      }),
    );
    const server = await serve(['--config', config]);
    const auth = { auth: { user: 'erin', pass: 'open-sesame' } };

    const switched = await code(server.port, { headers: { 'X-Blackhole-Mode': 'bounce' } }, auth);
    const gone = await send(server.port, { to: ['a@gone.test', 'b@here.test'] }, auth);
    const anonymous = await code(server.port);

    expect(switched).toBe(250);
    expect(gone).toMatchObject({ ok: true, info: { rejected: ['a@gone.test'] } });
    expect(anonymous).toBe(530);
    expect(server.listening).toMatchObject({ seed: 9 });
  });

  it('passes the flags to every worker, with one seed and TLS settings a client verifies', async () => {
    const server = await serve(['--workers', '2', '--starttls', '--mode', 'bounce', '--seed', '77']);
    const remote = await connectSink(server.api);

    const codes = [
      await code(server.port, {}, { requireTLS: true, tls: remote.clientTls() }),
      await code(server.port, {}, { requireTLS: true, tls: remote.clientTls() }),
    ];

    expect(codes.every((c) => bounceCodes.includes(c))).toBe(true);
    expect(remote.seed).toBe(77);
    expect(remote.clientTls()).toMatchObject({ servername: 'localhost', minVersion: 'TLSv1.2' });
  });
});

describe('mailhole serve: bad behaviour values', () => {
  it.each([
    [['--mode', 'sometimes'], '--mode must be accept, bounce or random'],
    [['--accept-ratio', '1.5'], '--accept-ratio must be a number from 0 to 1'],
    [['--accept-ratio', 'half'], '--accept-ratio must be a number from 0 to 1'],
    [['--seed', '4.5'], '--seed must be a whole number from 0 to 4294967295'],
    [['--seed', '99999999999'], '--seed must be a whole number from 0 to 4294967295'],
    [['--delay', 'soon'], '--delay must be a delay such as 250 (ms), 2s'],
    [['--delay', '500-100'], '--delay must be a delay'],
    [['--delay', '2h'], '--delay must be a delay'],
    [['--delay', 'lunch=5s'], '--delay lunch=5s: "lunch" is not a stage'],
    [['--fault', 'explode'], '--fault "explode": "explode" is not a fault rule; the forms are'],
    [['--fault', 'fail-next:99'], '--fault "fail-next:99": fail-next CODE must be a reply code'],
    [['--fault', '{"stage":"rcpt"}'], '--fault "{\\"stage\\":\\"rcpt\\"}": fault rule'],
    [['--fault', '{"stage":'], '--fault "{\\"stage\\":": not valid JSON'],
    [['--fault', 'delay:rcpt:later'], '--fault "delay:rcpt:later": delay MS must be a delay'],
    [['--auth-users', '/nonexistent/users.txt'], '--auth-users /nonexistent/users.txt: cannot read it (ENOENT)'],
    [['--header-switches', '--no-header-switches'], '--header-switches and --no-header-switches contradict'],
  ])('serve %j exits 2 naming the flag', async (args, message) => {
    const result = await runCli(['serve', '--port', '0', '--api-port', '0', ...args]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('a users file that is not user:password lines is named by line, without quoting it', async () => {
    const users = await tempFile('users.txt', 'frank:ok\nsecret-without-colon\n');
    const json = await tempFile('users.json', '{ "frank": "very-secret", }');

    const lines = await runCli(['serve', '--port', '0', '--api-port', '0', '--auth-users', users]);
    const broken = await runCli(['serve', '--port', '0', '--api-port', '0', '--auth-users', json]);

    expect(lines.code).toBe(2);
    expect(lines.stderr).toContain(`--auth-users ${users}: line 2 is not user:password`);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(`--auth-users ${json}: not valid JSON`);
    expect(`${lines.stderr}${broken.stderr}`).not.toMatch(/secret/);
  });

  it('a bad behaviour key in --config exits 2 naming the file and the key', async () => {
    const config = await tempFile('mailhole.json', JSON.stringify({ mode: 'loud' }));

    const result = await runCli(['serve', '--port', '0', '--api-port', '0', '--config', config]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--config ${config}: option "mode" must be "accept", "bounce"`);
  });

  it('--help documents the flags and that header switches are on for serve', async () => {
    const result = await runCli(['serve', '--help']);

    expect(result.code).toBe(0);
    for (const flag of ['--mode', '--accept-ratio', '--seed', '--delay', '--no-header-switches', '--auth-users']) {
      expect(result.stdout).toContain(flag);
    }
    expect(result.stdout).toContain('header switches are ON for serve');
    expect(result.stdout).toContain('fail-next[:CODE[:COUNT]]');
  });
});
