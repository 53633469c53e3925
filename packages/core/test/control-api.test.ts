import { request } from 'node:http';
import { connect } from 'node:net';
import { startSink } from '@mailhole/core';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { type ServeProcess, spawnServe, stopServers } from './control-serve.js';

const TOKEN = 'control-api-test-token';
let server: ServeProcess;
const transports: Array<{ close(): void }> = [];

beforeAll(async () => {
  server = await spawnServe([
    '--port',
    '0',
    '--api-port',
    '0',
    '--capture',
    'full',
    '--max-message-size',
    '4K',
    '--token',
    TOKEN,
  ]);
});

afterAll(async () => {
  await server?.stop();
  await stopServers();
});

beforeEach(async () => {
  await api('/api/reset', { method: 'POST' });
});

afterEach(() => {
  for (const transport of transports.splice(0)) transport.close();
});

/** fetch on the control API, with the token unless told otherwise. */
function api(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const { token = TOKEN, headers, ...rest } = init;
  return fetch(`${server.api}${path}`, {
    ...rest,
    headers: {
      ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
      ...(headers as Record<string, string>),
    },
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the tests read whatever JSON the API answers
type Json = any;

async function json(path: string, init?: RequestInit & { token?: string | null }): Promise<Json> {
  const response = await api(path, init);
  return { status: response.status, body: await response.json() };
}

function send(mail: Mail.Options) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: server.port, secure: false });
  transports.push(transport);
  return transport.sendMail({ from: 'app@test.example', to: 'user@test.example', text: 'hello', ...mail });
}

/** A request with headers fetch will not send (Host), over node:http. */
function rawRequest(path: string, headers: Record<string, string>): Promise<{ status: number; body: Json }> {
  const url = new URL(server.api);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => (text += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('control API endpoints (sink in another process)', () => {
  it('GET /api/stats answers every counter, accepted included', async () => {
    await send({ subject: 'one' });

    const { status, body } = await json('/api/stats');

    expect(status).toBe(200);
    expect(body).toMatchObject({
      accepted: 1,
      rejected: 0,
      transactions: 1,
      recipientsAccepted: 1,
      capturedMessages: 1,
    });
    expect(Object.keys(body)).toEqual(
      expect.arrayContaining([
        'connections',
        'activeConnections',
        'acceptedBytes',
        'receivedBytes',
        'faults',
        'evictedRecords',
        'evictedBytes',
      ]),
    );
  });

  it('GET /api/info names where the sink listens and what it keeps', async () => {
    const { body } = await json('/api/info');

    expect(body).toMatchObject({
      host: '127.0.0.1',
      port: server.port,
      url: server.listening.smtp,
      apiUrl: server.api,
      workers: 1,
    });
    expect(body.options).toMatchObject({ capture: 'full', maxMessageSize: 4096, tls: 'none' });
  });

  it('GET /api/deliveries filters by recipient, sender, subject and header', async () => {
    await send({ to: 'alice@test.example', subject: 'Welcome Alice', headers: { 'X-Test': 'a' } });
    await send({ to: 'bob@test.example', from: 'bank@test.example', subject: 'Statement', headers: { 'X-Test': 'b' } });

    const subjects = async (query: string) =>
      (await json(`/api/deliveries?${query}`)).body.deliveries.map((d: { subject: string }) => d.subject);

    expect(await subjects('to=alice%40test.example')).toEqual(['Welcome Alice']);
    expect(await subjects('from=bank%40test.example')).toEqual(['Statement']);
    expect(await subjects('subject=Welcome')).toEqual(['Welcome Alice']);
    expect(await subjects('header=x-test:b')).toEqual(['Statement']);
    expect(await subjects('')).toEqual(['Welcome Alice', 'Statement']);
  });

  it('GET /api/deliveries counts from a mark taken with POST /api/mark', async () => {
    await send({ subject: 'before' });
    const mark = (await json('/api/mark', { method: 'POST' })).body;
    await send({ subject: 'after' });

    const byToken = (await json(`/api/deliveries?since=${mark.token}`)).body.deliveries;
    const byLast = (await json('/api/deliveries?since=last')).body.deliveries;

    expect(mark.token).toBe(`${mark.seq}:${mark.acceptedTotal}`);
    expect(byToken.map((d: { subject: string }) => d.subject)).toEqual(['after']);
    expect(byLast).toEqual(byToken);
  });

  it('GET /api/deliveries lists rejected deliveries only with includeRejected', async () => {
    await send({ subject: 'small' });
    await expect(send({ subject: 'too big', text: 'z'.repeat(6000) })).rejects.toThrow(/552/);

    const accepted = (await json('/api/deliveries')).body.deliveries;
    const all = (await json('/api/deliveries?includeRejected=true')).body.deliveries;

    expect(accepted.map((d: { subject: string }) => d.subject)).toEqual(['small']);
    expect(all.map((d: { accepted: boolean }) => d.accepted)).toEqual([true, false]);
  });

  it('GET /api/messages/:id answers the parsed view, BCC and attachments included', async () => {
    await send({
      to: 'alice@test.example',
      bcc: 'audit@test.example',
      subject: 'Invoice',
      attachments: [{ filename: 'a.txt', content: 'abc' }],
    });
    const [listed] = (await json('/api/messages')).body.messages;

    const { status, body } = await json(`/api/messages/${listed.id}`);

    expect(status).toBe(200);
    expect(body.record.recipients).toEqual(['alice@test.example', 'audit@test.example']);
    expect(body.parsed).toMatchObject({ subject: 'Invoice', bcc: ['audit@test.example'], text: 'hello' });
    expect(body.parsed.attachments).toEqual([
      expect.objectContaining({
        filename: 'a.txt',
        contentType: 'text/plain',
        size: 3,
        content: Buffer.from('abc').toString('base64'),
      }),
    ]);
  });

  it('GET /api/messages/:id/raw answers the message byte for byte as message/rfc822', async () => {
    const raw = Buffer.from('From: a@test.example\r\nSubject: raw\r\n\r\n.dot line\r\n\xe9 8-bit\r\n', 'latin1');
    await send({ envelope: { from: 'a@test.example', to: ['b@test.example'] }, raw });
    const [listed] = (await json('/api/messages')).body.messages;

    const response = await api(`/api/messages/${listed.id}/raw`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('message/rfc822');
    expect(Buffer.from(await response.arrayBuffer()).equals(raw)).toBe(true);
  });

  it('POST /api/reset zeroes the counters and forgets the messages', async () => {
    await send({ subject: 'to forget' });

    const { status, body } = await json('/api/reset', { method: 'POST' });

    expect(status).toBe(200);
    expect(body.stats).toMatchObject({ accepted: 0, capturedMessages: 0 });
    expect((await json('/api/messages')).body.messages).toEqual([]);
  });

  it('GET /api/wait answers once the count is reached', async () => {
    const waiting = json('/api/wait?count=2&timeout=15000');
    await send({ subject: 'one' });
    await send({ subject: 'two' });

    const { status, body } = await waiting;

    expect(status).toBe(200);
    expect(body).toMatchObject({ reached: true, expected: 2 });
    expect(body.deliveries.map((d: { subject: string }) => d.subject)).toEqual(['one', 'two']);
  });

  it('GET /api/wait with a filter answers when a matching delivery arrives', async () => {
    const waiting = json('/api/wait?to=bob%40test.example&timeout=15000');
    await send({ to: 'alice@test.example', subject: 'not this' });
    await send({ to: 'bob@test.example', subject: 'this one' });

    const { body } = await waiting;

    expect(body.reached).toBe(true);
    expect(body.deliveries.map((d: { subject: string }) => d.subject)).toEqual(['this one']);
  });

  it('GET /api/wait at its timeout answers reached:false with what arrived', async () => {
    await send({ subject: 'only one' });

    const { status, body } = await json('/api/wait?count=3&timeout=200');

    expect(status).toBe(200);
    expect(body).toMatchObject({ reached: false, expected: 3, received: 1 });
    expect(body.message).toContain('waitFor timed out after 200 ms with 1 of 3 deliveries');
    expect(body.message).toContain('accepted from <app@test.example> to user@test.example');
  });

  it('GET /api/describe answers the report failure messages quote', async () => {
    await send({ subject: 'described' });

    const { body } = await json('/api/describe');

    expect(body.description).toContain('1 accepted and 0 rejected deliveries');
  });

  it('GET /metrics answers Prometheus text with HELP, TYPE and a sink label on every counter', async () => {
    await send({ subject: 'counted' });

    const response = await api('/metrics');
    const text = await response.text();
    const label = `sink="127.0.0.1:${server.port}"`;

    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toContain(`mailhole_accepted_total{${label}} 1\n`);
    expect(text).toContain('# TYPE mailhole_accepted_total counter');
    expect(text).toContain('# TYPE mailhole_active_connections gauge');
    const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    for (const sample of samples) expect(sample).toMatch(new RegExp(`^mailhole_[a-z_]+\\{${label}\\} \\d+$`));
    for (const sample of samples) {
      const name = sample.slice(0, sample.indexOf('{'));
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(samples.length).toBe(Object.keys((await json('/api/stats')).body).length);
  });
});

describe('control API errors (sink in another process)', () => {
  it('answers 401 without the bearer token, and with a wrong one', async () => {
    const missing = await api('/api/stats', { token: null });
    const wrong = await json('/api/stats', { token: 'not-the-token' });

    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect((await missing.json()).error).toContain('Authorization: Bearer');
    expect(wrong).toEqual({
      status: 401,
      body: {
        status: 401,
        error:
          'the bearer token is wrong: send the token the sink was started with (api.token, --token or MAILHOLE_API_TOKEN)',
      },
    });
  });

  it('answers 403 to a browser request from another origin', async () => {
    const { status, body } = await json('/api/reset', { method: 'POST', headers: { Origin: 'https://evil.example' } });

    expect(status).toBe(403);
    expect(body.error).toContain('cross-origin requests are refused');
  });

  it('answers 403 to a request addressed to a foreign host name (DNS rebinding)', async () => {
    const { status, body } = await rawRequest('/api/stats', {
      Host: 'evil.example:8025',
      Authorization: `Bearer ${TOKEN}`,
    });

    expect(status).toBe(403);
    expect(body.error).toContain('not a loopback name');
  });

  it('answers 404 naming an unknown route, and an unknown message id', async () => {
    const route = await json('/api/nope');
    const message = await json('/api/messages/zzz.999');

    expect(route.status).toBe(404);
    expect(route.body.error).toContain('no route /api/nope');
    expect(message.status).toBe(404);
    expect(message.body.error).toContain('no message with id zzz.999');
  });

  it('answers 405 with Allow to a wrong method', async () => {
    const response = await api('/api/stats', { method: 'DELETE' });

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
    expect((await response.json()).error).toBe('DELETE /api/stats is not allowed: use GET');
  });

  it.each([
    ['/api/deliveries?colour=red', 'unknown query parameter "colour"'],
    ['/api/wait?count=many', 'count must be a whole number'],
    ['/api/wait?timeout=-5', 'timeout must be a whole number'],
    ['/api/wait?timeout=99999999999', 'timeout must be a whole number from 0 to 3600000'],
    ['/api/deliveries?since=yesterday', 'since must be a mark "seq:acceptedTotal"'],
    ['/api/deliveries?includeRejected=maybe', 'includeRejected must be true or false'],
    ['/api/deliveries?to=a&to=b', 'query parameter "to" is given more than once'],
    ['/api/deliveries?header=bad%20name', 'header must be "name" or "name:value"'],
    ['/api/messages/%E0%A4%A', 'is not valid percent-encoding'],
    ['/api/messages/a%2Fb', 'is malformed'],
  ])('answers 400 naming the problem for %s', async (path, problem) => {
    const { status, body } = await json(path);

    expect(status).toBe(400);
    expect(body.error).toContain(problem);
  });

  it('answers 400 to a body that is not JSON, 415 to one of another type, 413 to one too large', async () => {
    const bad = await json('/api/mark', {
      method: 'POST',
      body: '{oops',
      headers: { 'Content-Type': 'application/json' },
    });
    const type = await json('/api/mark', {
      method: 'POST',
      body: 'a=b',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    const large = await json('/api/reset', {
      method: 'POST',
      body: JSON.stringify({ pad: 'x'.repeat(100_000) }),
      headers: { 'Content-Type': 'application/json' },
    });

    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('the request body is not valid JSON');
    expect(type.status).toBe(415);
    expect(large.status).toBe(413);
    expect(large.body.error).toContain('request body too large');
  });

  it('answers malformed HTTP with 400 and keeps serving', async () => {
    const url = new URL(server.api);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: url.hostname, port: Number(url.port) });
      let text = '';
      socket.setEncoding('utf8').on('data', (s: string) => (text += s));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
      socket.write('GARBAGE \x00\x01 NOT-HTTP\r\n\r\n');
    });

    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect((await json('/api/stats')).status).toBe(200);
  });
});

describe('control API lifecycle', () => {
  it('ends a pending wait when the sink stops, and the process exits cleanly', async () => {
    const own = await spawnServe(['--port', '0', '--api-port', '0']);
    onTestFinished(() => own.stop('SIGKILL').then(() => undefined));
    const waiting = fetch(`${own.api}/api/wait?count=1&timeout=60000`).then(
      async (r) => ({ status: r.status, body: await r.json() }),
      (error: Error) => ({ status: 0, body: { error: error.message } }),
    );
    // The wait is registered once the sink saw the request: a second call proves the first got through.
    await fetch(`${own.api}/api/stats`);

    const finished = await own.stop('SIGTERM');
    const answer = await waiting;

    expect(finished.code).toBe(0);
    expect(answer.status).toBe(503);
    expect(answer.body.error).toMatch(/closing|closed/);
  });

  it('is served by startSink({ api }) and closes with the sink', async () => {
    const sink = await startSink({ capture: 'count', api: { port: 0 } });
    const url = sink.apiUrl as string;
    const refused = await fetch(`${url}/api/deliveries`).then(async (r) => ({
      status: r.status,
      body: await r.json(),
    }));
    await sink.close();

    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toContain('capture "count"');
    await expect(fetch(`${url}/api/stats`)).rejects.toThrow();
  });
});
