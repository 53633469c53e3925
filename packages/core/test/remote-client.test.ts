import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connectSink, RemoteError, type RemoteSink, WaitTimeoutError } from '@mailhole/core';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runProgram, type ServeProcess, spawnServe, stopServers } from './control-serve.js';

let server: ServeProcess;
let tokenServer: ServeProcess;
let sink: RemoteSink;
const transports: Array<{ close(): void }> = [];
const workspace = fileURLToPath(new URL('../../..', import.meta.url));

beforeAll(async () => {
  [server, tokenServer] = await Promise.all([
    spawnServe(['--port', '0', '--api-port', '0', '--capture', 'full']),
    spawnServe(['--port', '0', '--api-port', '0', '--token', 'remote-secret']),
  ]);
});

afterAll(async () => {
  await Promise.all([server?.stop(), tokenServer?.stop()]);
  await stopServers();
});

beforeEach(async () => {
  sink = await connectSink(server.api);
  await sink.reset();
});

afterEach(() => {
  for (const transport of transports.splice(0)) transport.close();
});

function send(mail: Mail.Options) {
  const transport = nodemailer.createTransport({ host: sink.host, port: sink.port, secure: false });
  transports.push(transport);
  return transport.sendMail({ from: 'app@test.example', to: 'user@test.example', text: 'hello', ...mail });
}

describe('connectSink: a sink in another process, with in-process methods', () => {
  it('fills in where the sink listens from the control API', () => {
    expect(sink.host).toBe('127.0.0.1');
    expect(sink.port).toBe(server.port);
    expect(sink.url).toBe(server.listening.smtp);
    expect(sink.apiUrl).toBe(server.api);
    expect(sink.tlsPort).toBeUndefined();
    expect(sink.info.options.capture).toBe('full');
  });

  it('counts accepted deliveries through accepted() and stats()', async () => {
    await send({ subject: 'one' });
    await send({ subject: 'two' });

    expect(await sink.accepted()).toBe(2);
    expect(await sink.stats()).toMatchObject({ accepted: 2, transactions: 2, recipientsAccepted: 2 });
  });

  it('lists deliveries by filter and by predicate', async () => {
    await send({ to: 'alice@test.example', subject: 'Hi Alice' });
    await send({ to: 'bob@test.example', subject: 'Hi Bob' });

    expect((await sink.deliveries({ to: 'bob@test.example' })).map((r) => r.subject)).toEqual(['Hi Bob']);
    expect((await sink.deliveries((r) => r.subject?.endsWith('Alice') === true)).map((r) => r.recipients)).toEqual([
      ['alice@test.example'],
    ]);
  });

  it('reads kept messages with their raw octets and a parsed view', async () => {
    await send({
      to: 'alice@test.example',
      bcc: 'audit@test.example',
      subject: 'Receipt',
      attachments: [{ filename: 'r.txt', content: 'paid' }],
    });

    const [message] = await sink.messages({ subject: 'Receipt' });
    const again = await sink.message(message?.id as string);
    const parsed = await message?.parsed();

    expect(again?.raw.equals(message?.raw as Buffer)).toBe(true);
    expect(parsed?.bcc).toEqual(['audit@test.example']);
    expect(parsed?.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['r.txt', 'paid']]);
    expect(await sink.message('nope.1')).toBeUndefined();
  });

  it('waits for a count that is reached after the call', async () => {
    const waiting = sink.waitFor(2, { timeout: 15_000 });
    await send({ subject: 'a' });
    await send({ subject: 'b' });

    expect((await waiting).map((r) => r.subject)).toEqual(['a', 'b']);
  });

  it('waits for a filter, past deliveries that do not match', async () => {
    const waiting = sink.waitFor({ subject: 'Reset' }, { timeout: 15_000 });
    await send({ subject: 'Welcome' });
    await send({ subject: 'Reset your password' });

    expect((await waiting).map((r) => r.subject)).toEqual(['Reset your password']);
  });

  it('waits for a predicate, checking again as each delivery arrives', async () => {
    const waiting = sink.waitFor((r) => r.recipients.length === 2, { timeout: 15_000 });
    await send({ to: 'one@test.example', subject: 'single' });
    await send({ to: ['one@test.example', 'two@test.example'], subject: 'double' });

    expect((await waiting).map((r) => r.subject)).toEqual(['double']);
  });

  it('rejects a wait at its timeout with a WaitTimeoutError listing what arrived', async () => {
    await send({ subject: 'lonely' });

    const error = await sink.waitFor(2, { timeout: 200 }).catch((e: unknown) => e);
    const predicateError = await sink.waitFor(() => false, { timeout: 200 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error).toMatchObject({ expected: 2, received: 1 });
    expect((error as Error).message).toContain('waitFor timed out after 200 ms with 1 of 2 deliveries');
    expect((error as Error).message).toContain('to user@test.example');
    expect((predicateError as Error).message).toContain('0 of 1 matching deliveries (predicate)');
  });

  it('counts deliveries after a mark', async () => {
    await send({ subject: 'before' });
    const mark = await sink.mark();
    await send({ subject: 'after 1' });
    await send({ subject: 'after 2' });

    expect(await sink.acceptedSince(mark)).toBe(2);
    expect((await sink.waitFor(2, { since: mark, timeout: 1000 })).map((r) => r.subject)).toEqual([
      'after 1',
      'after 2',
    ]);
  });

  it('gives concurrent tests their own window with view({ to })', async () => {
    await send({ to: 'alice@test.example', subject: 'old' });
    const [alice, bob] = await Promise.all([
      sink.view({ to: 'alice@test.example' }),
      sink.view({ to: 'bob@test.example' }),
    ]);
    const aliceWait = alice.waitFor(2, { timeout: 15_000 });

    await send({ to: 'alice@test.example', subject: 'a1' });
    await send({ to: 'bob@test.example', subject: 'b1' });
    await send({ to: 'alice@test.example', subject: 'a2' });

    expect((await aliceWait).map((r) => r.subject)).toEqual(['a1', 'a2']);
    expect(await alice.accepted()).toBe(2);
    expect(await bob.accepted()).toBe(1);
    expect((await bob.deliveries()).map((r) => r.subject)).toEqual(['b1']);
    expect((await alice.messages()).map((m) => m.record.subject)).toEqual(['a1', 'a2']);
    await alice.reset();
    expect(await alice.accepted()).toBe(0);
  });

  it('counts from its creation with an unscoped view', async () => {
    await send({ subject: 'earlier' });
    const view = await sink.view();
    await send({ subject: 'mine' });

    expect(await view.accepted()).toBe(1);
    expect((await view.waitFor(1, { timeout: 1000 })).map((r) => r.subject)).toEqual(['mine']);
  });

  it('resets the sink and describes what it saw', async () => {
    await send({ subject: 'seen' });
    expect(await sink.describe()).toContain('1 accepted and 0 rejected deliveries');

    await sink.reset();

    expect(await sink.accepted()).toBe(0);
    expect(await sink.describe()).toContain('0 accepted');
  });

  it('sends the token when given one, and names the status when it is wrong', async () => {
    const authorized = await connectSink(tokenServer.api, { token: 'remote-secret' });
    const refused = await connectSink(tokenServer.api, { token: 'wrong' }).catch((e: unknown) => e);

    expect(await authorized.accepted()).toBe(0);
    expect(refused).toBeInstanceOf(RemoteError);
    expect((refused as RemoteError).status).toBe(401);
    expect((refused as Error).message).toBe(
      `the mailhole control API at ${tokenServer.api} answered GET /api/info with 401 Unauthorized: the bearer token is wrong: send the token the sink was started with (api.token, --token or MAILHOLE_API_TOKEN)`,
    );
  });

  it('says which URL it cannot reach and what to check', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });

    const error = await connectSink(`http://127.0.0.1:${port}`).catch((e: unknown) => e);

    expect((error as Error).message).toBe(
      `cannot reach the mailhole control API at http://127.0.0.1:${port} (ECONNREFUSED): is \`mailhole serve --api-port\` running?`,
    );
  });

  it('works from CommonJS and leaves no handle behind: the script ends by itself', async () => {
    await send({ subject: 'from cjs' });
    const script = `
      const { connectSink } = require('@mailhole/core');
      connectSink(process.env.API).then(async (sink) => {
        const [record] = await sink.waitFor({ subject: 'from cjs' }, { timeout: 5000 });
        const [message] = await sink.messages({ subject: 'from cjs' });
        const parsed = await message.parsed();
        console.log(JSON.stringify({ accepted: await sink.accepted(), subject: record.subject, text: parsed.text.trim() }));
      });`;

    const result = await runProgram(
      process.execPath,
      ['-e', script],
      { ...process.env, API: server.api },
      15_000,
      workspace,
    );

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ accepted: 1, subject: 'from cjs', text: 'hello' });
  });
});
