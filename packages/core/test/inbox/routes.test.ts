import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { connectSink, type Sink, startSink } from '@mailhole/core';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

const TOKEN = 'inbox-routes-token';
let sink: Sink;
let base: string;
const auth = { Authorization: `Bearer ${TOKEN}` };

async function send(target: Sink, options: { to?: string; subject?: string } = {}) {
  const transport = nodemailer.createTransport({ host: target.host, port: target.port });
  try {
    return await transport.sendMail({
      from: 'ada@test',
      to: options.to ?? 'bob@test',
      subject: options.subject ?? 'hello',
      text: 'hi',
    });
  } finally {
    transport.close();
  }
}

/** A request with any Host and Origin headers (fetch will not forge them). */
function raw(url: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{"mode":"bounce"}' : undefined);
  });
}

beforeAll(async () => {
  sink = await startSink({ api: { token: TOKEN }, capture: 'full' });
  base = sink.apiUrl as string;
});
afterAll(() => sink.close());

describe('the inbox page', () => {
  it('is served at / without the token, with a policy that allows only its own scripts and no framing', async () => {
    expect(sink.inboxUrl).toBe(`${base}/`);
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*';/);
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("connect-src 'self'");
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const html = await response.text();
    // One request: styles and script are in the page, the script allowed by its hash alone.
    expect(html).toMatch(/<script type="module">[\s\S]*\/api\/inbox\/events[\s\S]*<\/script>/);
    expect(html).not.toMatch(/(?:href|src)="\/inbox\//);
    const script = /<script type="module">([\s\S]*?)<\/script>/.exec(html)?.[1] as string;
    const hash = createHash('sha256').update(script, 'utf8').digest('base64');
    expect(policy).toContain(`script-src 'sha256-${hash}'`);
  });

  it('refuses a foreign Host (DNS rebinding) and a foreign Origin, like the API', async () => {
    const page = await raw(`${base}/`, { Host: 'attacker.test' });
    expect(page.status).toBe(403);
    const mode = await raw(
      `${base}/api/mode`,
      { ...auth, Origin: 'http://attacker.test', 'Content-Type': 'application/json' },
      'POST',
    );
    expect(mode.status).toBe(403);
    expect(sink.options.behaviour.base.mode).toBe('accept');
  });

  it('needs the token for every data and control route', async () => {
    for (const path of ['/api/inbox/deliveries', '/api/inbox/events', '/api/sessions/1']) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(401);
    }
    const mode = await fetch(`${base}/api/mode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"mode":"bounce"}',
    });
    expect(mode.status).toBe(401);
  });
});

describe('the inbox list', () => {
  it('pages newest first with the total, filters by text and outcome, and bounds the page size', async () => {
    await fetch(`${base}/api/reset`, { method: 'POST', headers: auth });
    for (let i = 1; i <= 5; i++) await send(sink, { subject: `message ${i}`, to: i === 3 ? 'carol@test' : 'bob@test' });
    sink.faults.add({ stage: 'message', action: '554 5.7.1 No thanks', times: 1 });
    await expect(send(sink, { subject: 'bounced one' })).rejects.toThrow(/554 5\.7\.1 No thanks/);
    const list = async (query: string) => {
      const response = await fetch(`${base}/api/inbox/deliveries?${query}`, { headers: auth });
      return {
        status: response.status,
        json: (await response.json()) as {
          total: number;
          items: Array<{ subject: string; outcome: string; to: string[] }>;
          error?: string;
        },
      };
    };
    const first = await list('limit=3');
    expect(first.json.total).toBe(6);
    expect(first.json.items.map((r) => r.subject)).toEqual(['bounced one', 'message 5', 'message 4']);
    expect(first.json.items[0]?.outcome).toBe('bounced');
    const last = await list('offset=5&limit=3');
    expect(last.json.items.map((r) => r.subject)).toEqual(['message 1']);
    const carol = await list('q=CAROL');
    expect(carol.json.total).toBe(1);
    expect(carol.json.items[0]?.to).toEqual(['carol@test']);
    const accepted = await list('outcome=accepted&limit=500');
    expect(accepted.json.total).toBe(5);
    const tooMany = await list('limit=501');
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error).toMatch(/limit must be a whole number from 0 to 500/);
    const unknown = await list('sort=asc');
    expect(unknown.status).toBe(400);
  });

  it('answers one delivery in full, and its session transcript', async () => {
    const info = await send(sink, { subject: 'detail' });
    const id = /as (\S+)/.exec(info.response)?.[1] as string;
    const { delivery: record } = (await (await fetch(`${base}/api/deliveries/${id}`, { headers: auth })).json()) as {
      delivery: { id: string; connectionId: number };
    };
    expect(record.id).toBe(id);
    const transcript = (await (
      await fetch(`${base}/api/sessions/${record.connectionId}`, { headers: auth })
    ).json()) as {
      head: Array<{ text: string }>;
    };
    expect(transcript.head.map((l) => l.text)).toContain('DATA');
    expect((await fetch(`${base}/api/sessions/999999`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${base}/api/sessions/abc`, { headers: auth })).status).toBe(400);
  });

  it('streams new deliveries and the counters as server-sent events', async () => {
    const controller = new AbortController();
    onTestFinished(() => controller.abort());
    const response = await fetch(`${base}/api/inbox/events`, { headers: auth, signal: controller.signal });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const sent = send(sink, { subject: 'live one' });
    while (!text.includes('live one')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    await sent;
    expect(text).toMatch(/^event: stats\ndata: \{"accepted":/);
    const line = /event: deliveries\ndata: (.*)\n/.exec(text)?.[1] ?? '[]';
    expect(JSON.parse(line)).toEqual([
      expect.objectContaining({ from: 'ada@test', to: ['bob@test'], subject: 'live one', outcome: 'accepted' }),
    ]);
  });
});

describe('control from the inbox', () => {
  it('switches the mode with POST /api/mode: the next message bounces', async () => {
    const bad = await fetch(`${base}/api/mode`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: '{"mode":"drop"}',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/"accept" \| "bounce" \| "random"/);
    const switched = await fetch(`${base}/api/mode`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: '{"mode":"bounce"}',
    });
    expect(await switched.json()).toEqual({ mode: 'bounce', acceptRatio: 0.5 });
    onTestFinished(() => sink.setMode('accept'));
    await expect(send(sink, { subject: 'after bounce' })).rejects.toThrow(/^Message failed: [45]\d\d/);
    const info = (await (await fetch(`${base}/api/info`, { headers: auth })).json()) as { options: { mode: string } };
    expect(info.options.mode).toBe('bounce');
  });

  it('says what count-only capture does not keep, and still streams the counters', async () => {
    const counting = await startSink({ api: true, capture: 'count' });
    onTestFinished(() => counting.close());
    const list = await fetch(`${counting.apiUrl}/api/inbox/deliveries`);
    expect(list.status).toBe(409);
    expect(((await list.json()) as { error: string }).error).toMatch(/keeps no delivery records \(capture "count"/);
    const controller = new AbortController();
    onTestFinished(() => controller.abort());
    const events = await fetch(`${counting.apiUrl}/api/inbox/events`, { signal: controller.signal });
    const reader = (events.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    await send(counting);
    let text = '';
    while (!/"accepted":1\b/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    expect(text).toMatch(/event: stats\ndata: \{"accepted":1,/);
    expect(text).not.toContain('event: deliveries');
  });
});

describe('the remote client', () => {
  it('switches the mode and reads transcripts like the in-process sink', async () => {
    const remote = await connectSink(base, { token: TOKEN });
    await remote.setMode('bounce');
    onTestFinished(() => sink.setMode('accept'));
    expect(sink.options.behaviour.base.mode).toBe('bounce');
    await remote.setMode('random', 1);
    expect(sink.options.behaviour.base).toMatchObject({ mode: 'random', acceptRatio: 1 });
    const info = await send(sink, { subject: 'remote transcript' });
    const id = /as (\S+)/.exec(info.response)?.[1] as string;
    const record = sink.deliveries().find((r) => r.id === id);
    const transcript = await remote.transcript(record?.connectionId as number);
    expect(transcript?.head.some((l) => l.text === 'DATA')).toBe(true);
    expect(await remote.transcript(999_999)).toBeUndefined();
    await expect(remote.setMode('drop' as 'accept')).rejects.toThrow(/"accept" \| "bounce" \| "random"/);
  });
});
