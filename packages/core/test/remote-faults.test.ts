import { connectSink, FaultRuleError, type RemoteSink, startSink } from '@mailhole/core';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ServeProcess, spawnServe, stopServers } from './control-serve.js';

// sink.faults of a sink in another process (`mailhole serve`), through /api/faults: every rule is
// checked by what nodemailer meets on the wire.

let server: ServeProcess;
let sink: RemoteSink;
const transports: Array<{ close(): void }> = [];

beforeAll(async () => {
  server = await spawnServe(['--port', '0', '--api-port', '0']);
});

afterAll(async () => {
  await server?.stop();
  await stopServers();
});

beforeEach(async () => {
  sink = await connectSink(server.api);
  await sink.faults.clear();
  await sink.faults.clearFired();
  await sink.reset();
});

afterEach(() => {
  for (const transport of transports.splice(0)) transport.close();
});

const letter = { from: 'app@test.example', to: 'user@test.example', subject: 'remote fault', text: 'hello' };

function transport(options: SMTPTransport.Options = {}) {
  const t = nodemailer.createTransport({ host: sink.host, port: sink.port, secure: false, ...options });
  transports.push(t);
  return t;
}

function send(mail: Mail.Options = {}, options: SMTPTransport.Options = {}) {
  return transport(options).sendMail({ ...letter, ...mail });
}

/** The error a send ends with (the test fails if it succeeds). */
async function refusal(mail: Mail.Options = {}, options: SMTPTransport.Options = {}) {
  const outcome = await send(mail, options).then(
    (info) => ({ sent: info }),
    (error: { responseCode?: number; response?: string; code?: string; message: string }) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected the send to fail, it was accepted: ${outcome.sent.response}`);
  return outcome.error;
}

describe('remote sink.faults: the in-process methods, over the control API', () => {
  it('failNext fails the next message with the code, then lets mail through', async () => {
    const rule = await sink.faults.failNext(451);

    const error = await refusal();
    const next = await send();

    expect(error.responseCode).toBe(451);
    expect(next.response).toMatch(/^250 /);
    expect(await rule.fired()).toBe(1);
    expect(await rule.active()).toBe(false);
    expect(await sink.accepted()).toBe(1);
  });

  it('failNext takes the text and a count, as in-process', async () => {
    await sink.faults.failNext(554, { enhanced: '5.7.1', text: 'Spam detected', count: 2 });

    const first = await refusal();
    const second = await refusal();
    const third = await send();

    expect(first.response).toBe('554 5.7.1 Spam detected');
    expect(second.responseCode).toBe(554);
    expect(third.response).toMatch(/^250 /);
  });

  it('bounceRecipient takes a RegExp, sent as a "/…/flags" string, and refuses only those recipients', async () => {
    const rule = await sink.faults.bounceRecipient(/^gone-\d+@/i);

    const info = await send({ to: ['Gone-42@test.example', 'here@test.example'] });
    const listed = await sink.faults.list();

    expect(info.rejected).toEqual(['Gone-42@test.example']);
    expect(info.accepted).toEqual(['here@test.example']);
    expect(rule.rule.match.recipient).toBe('/^gone-\\d+@/i');
    expect(listed).toEqual([expect.objectContaining({ name: rule.name, fired: 1 })]);
  });

  it('a removed rule no longer fires', async () => {
    const rule = await sink.faults.bounceRecipient('*@gone.test');
    await rule.remove();

    const info = await send({ to: 'someone@gone.test' });

    expect(info.accepted).toEqual(['someone@gone.test']);
    expect(await sink.faults.list()).toEqual([]);
    expect(await sink.faults.remove(rule.name)).toBe(false);
  });

  it('greylist refuses the first attempt with 451 4.7.1 and accepts the retry', async () => {
    const rule = await sink.faults.greylist();

    const first = await refusal();
    const retry = await send();

    expect(rule.name).toBe('greylist-1');
    expect(first.response).toMatch(/^451 4\.7\.1 /);
    expect(retry.response).toMatch(/^250 /);
  });

  it('disconnect answers 421 at the stage and closes the connection', async () => {
    await sink.faults.disconnect('rcpt');

    const error = await refusal();
    const fired = await sink.faults.fired({ stage: 'rcpt' });

    expect(error.responseCode).toBe(421);
    expect(fired).toEqual([expect.objectContaining({ stage: 'rcpt', sender: letter.from, recipient: letter.to })]);
    expect((await sink.stats()).accepted).toBe(0);
  });

  it('delay holds a stage reply until removed: a client with a short greeting timeout gives up', async () => {
    const rule = await sink.faults.delay('greeting', 30_000);

    const error = await refusal({}, { greetingTimeout: 300 });
    await rule.remove();
    const after = await send();

    expect(error.code).toBe('ETIMEDOUT');
    expect(after.response).toMatch(/^250 /);
  });

  it('add takes a full rule with a header condition, and fired() filters by rule', async () => {
    await sink.faults.add({
      name: 'no-newsletters',
      stage: 'message',
      match: { header: { name: 'X-Campaign', value: /^news-/ } },
      action: '550 5.7.1 Newsletters refused',
    });

    const error = await refusal({ headers: { 'X-Campaign': 'news-2024' } });
    const other = await send({ headers: { 'X-Campaign': 'receipt' } });
    const fired = await sink.faults.fired({ rule: 'no-newsletters' });

    expect(error.response).toBe('550 5.7.1 Newsletters refused');
    expect(other.response).toMatch(/^250 /);
    expect(fired).toEqual([expect.objectContaining({ rule: 'no-newsletters', stage: 'message' })]);
    expect((await sink.faults.list())[0]?.match.header).toEqual({ name: 'X-Campaign', value: '/^news-/' });
  });

  it('clear removes every rule and clearFired forgets the firings', async () => {
    await sink.faults.bounceRecipient('a@test.example');
    await sink.faults.bounceRecipient('b@test.example');
    await send({ to: ['a@test.example', 'ok@test.example'] });

    await sink.faults.clear();
    const afterClear = await send({ to: ['a@test.example', 'b@test.example'] });
    const firedBefore = (await sink.faults.fired()).length;
    await sink.faults.clearFired();

    expect(afterClear.accepted).toEqual(['a@test.example', 'b@test.example']);
    expect(firedBefore).toBe(1);
    expect(await sink.faults.fired()).toEqual([]);
  });

  it('refuses an in-process `when` condition with a FaultRuleError, before sending anything', async () => {
    const error = await sink.faults
      .add({ stage: 'rcpt', match: { when: () => true }, action: '550' })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(FaultRuleError);
    expect((error as Error).message).toContain(
      '"match.when" is a function, which cannot be sent to a sink in another process',
    );
    expect(await sink.faults.list()).toEqual([]);
  });

  it('rejects a rule the sink cannot use with the FaultRuleError the in-process add throws', async () => {
    const local = await startSink();
    const rule = { name: 'typo', stage: 'rcpt', action: { type: 'reply', code: 'x' } } as never;
    let inProcess: unknown;
    try {
      local.faults.add(rule);
    } catch (error) {
      inProcess = error;
    } finally {
      await local.close();
    }

    const remote = await sink.faults.add(rule).catch((e: unknown) => e);

    expect(remote).toBeInstanceOf(FaultRuleError);
    expect((remote as Error).message).toBe((inProcess as Error).message);
  });
});
