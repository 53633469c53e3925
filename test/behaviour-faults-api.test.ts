import nodemailer, { type Transporter } from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { sinkForTest } from './support/tls-clients.js';

const letter = { from: 'app@client.test', to: 'user@sink.test', subject: 'api fault', text: 'Hello.' };

const transports: Transporter[] = [];
afterEach(() => {
  for (const t of transports.splice(0)) t.close();
});

async function api(base: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: each test reads the fields of the JSON its route answers
  return { status: response.status, json: (await response.json()) as any };
}

describe('fault rules through the control API', () => {
  it('POST /api/faults adds a rule a sender then meets; GET lists it with what fired', async () => {
    const sink = await sinkForTest({ api: true });
    const base = sink.apiUrl as string;
    const t = nodemailer.createTransport({ host: sink.host, port: sink.port, secure: false, ignoreTLS: true });
    transports.push(t);

    const added = await api(base, 'POST', '/api/faults', {
      name: 'busy',
      stage: 'message',
      action: '452 4.3.1 Queue full',
      times: 1,
    });
    let error: { responseCode?: number; response?: string } | undefined;
    await t.sendMail(letter).catch((e) => (error = e));
    const listed = await api(base, 'GET', '/api/faults');

    expect(added.status).toBe(201);
    expect(added.json.fault).toMatchObject({ name: 'busy', stage: 'message', times: 1, fired: 0, remaining: 1 });
    expect(error).toMatchObject({ responseCode: 452, response: '452 4.3.1 Queue full' });
    expect(listed.json.faults).toEqual([]);
    expect(listed.json.fired).toEqual([
      expect.objectContaining({ rule: 'busy', stage: 'message', sender: letter.from }),
    ]);
  });

  it('a rule written as JSON can use a RegExp pattern as a "/…/" string', async () => {
    const sink = await sinkForTest({ api: true });
    const t = nodemailer.createTransport({ host: sink.host, port: sink.port, secure: false, ignoreTLS: true });
    transports.push(t);

    await api(sink.apiUrl as string, 'POST', '/api/faults', {
      stage: 'rcpt',
      match: { recipient: '/^gone-\\d+@/' },
      action: { type: 'reply', code: 550, enhanced: '5.1.1', text: 'No such user' },
    });
    const info = await t.sendMail({ ...letter, to: ['gone-42@sink.test', 'here@sink.test'] });

    expect(info.rejected).toEqual(['gone-42@sink.test']);
    expect(info.accepted).toEqual(['here@sink.test']);
  });

  it('a bad rule gets 400 with the field named', async () => {
    const sink = await sinkForTest({ api: true });

    const { status, json } = await api(sink.apiUrl as string, 'POST', '/api/faults', { stage: 'dot', action: '451' });

    expect(status).toBe(400);
    expect(json.error).toMatch(/"stage" must be one of/);
  });

  it('DELETE /api/faults/:name removes one rule, DELETE /api/faults all of them', async () => {
    const sink = await sinkForTest({ api: true });
    const base = sink.apiUrl as string;
    sink.faults.add({ name: 'one', stage: 'mail', action: '451' });
    sink.faults.add({ name: 'two', stage: 'rcpt', action: '451' });
    sink.faults.add({ name: 'three', stage: 'data', action: '451' });

    const one = await api(base, 'DELETE', '/api/faults/one');
    const missing = await api(base, 'DELETE', '/api/faults/one');
    const rest = await api(base, 'DELETE', '/api/faults');

    expect(one.json).toEqual({ removed: ['one'] });
    expect(missing.status).toBe(404);
    expect(rest.json).toEqual({ removed: ['two', 'three'] });
    expect(sink.faults.size).toBe(0);
  });
});
