import { request } from 'node:http';
import { connectSink, type Sink, startSink } from '@mailhole/core';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';

const sinks: Sink[] = [];
afterEach(async () => {
  for (const sink of sinks.splice(0)) await sink.close();
});

async function apiSink(api: { maxWaits?: number; maxWaitTimeout?: number } = {}): Promise<Sink & { apiUrl: string }> {
  const sink = await startSink({ api });
  sinks.push(sink);
  return sink as Sink & { apiUrl: string };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One GET on its own connection (no agent, no pooling), like an independent client. */
function get(url: string, signal?: AbortSignal): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, signal }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function send(sink: Sink): Promise<void> {
  const transport = nodemailer.createTransport({ host: sink.host, port: sink.port, ignoreTLS: true });
  try {
    await transport.sendMail({ from: 'a@client.test', to: 'b@sink.test', subject: 'x', text: 'x' });
  } finally {
    transport.close();
  }
}

/** Resolves once the API holds `n` waits (seen from the outside: one more gets 429). */
async function holding(sink: { apiUrl: string }, pending: Array<Promise<unknown>>, n: number): Promise<void> {
  for (let tries = 0; tries < 500; tries++) {
    const probe = await get(`${sink.apiUrl}/api/wait?count=1&timeout=0`);
    // timeout=0 answers at once; only a 429 tells the slots are full.
    if (probe.status === 429) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the API never held ${n} waits (${pending.length} started)`);
}

describe('GET /api/wait limits', () => {
  it('answers 429 with Retry-After past maxWaits, naming the option, while stats, health and metrics answer', async () => {
    const sink = await apiSink({ maxWaits: 3 });
    const stop = new AbortController();
    const waits = Array.from({ length: 3 }, () =>
      get(`${sink.apiUrl}/api/wait?count=1&timeout=20000`, stop.signal).catch(() => undefined),
    );
    await holding(sink, waits, 3);
    const refused = await get(`${sink.apiUrl}/api/wait?count=1&timeout=1000`);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body).error).toMatch(/too many waits in progress \(3, option api\.maxWaits/);
    for (const path of ['/api/stats', '/api/health', '/metrics']) {
      expect((await get(`${sink.apiUrl}${path}`)).status).toBe(200);
    }
    stop.abort();
    await Promise.all(waits);
    // Freed slots take waits again.
    const again = await get(`${sink.apiUrl}/api/wait?count=1&timeout=10`);
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body).reached).toBe(false);
  });

  it('keeps /api/stats answering during 600 pending waits', async () => {
    const sink = await apiSink();
    const stop = new AbortController();
    const waits = Array.from({ length: 600 }, () =>
      get(`${sink.apiUrl}/api/wait?count=1&timeout=30000`, stop.signal).catch((error: Error) => error),
    );
    await holding(sink, waits, 100);
    const stats = await get(`${sink.apiUrl}/api/stats`);
    expect(stats.status).toBe(200);
    expect(JSON.parse(stats.body).accepted).toBe(0);
    stop.abort();
    const outcomes = await Promise.all(waits);
    // Past the first 100, each wait was told 429; none was reset.
    const answered = outcomes.filter((o): o is Answer => !(o instanceof Error));
    expect(answered.filter((a) => a.status === 429).length).toBeGreaterThanOrEqual(400);
  });

  it('cuts a wait at maxWaitTimeout, and the remote client asks again for the time it has left', async () => {
    const sink = await apiSink({ maxWaitTimeout: 200 });
    const cut = await get(`${sink.apiUrl}/api/wait?count=1&timeout=3600000`);
    expect(JSON.parse(cut.body)).toMatchObject({ reached: false, expected: 1, received: 0 });
    const remote = await connectSink(sink.apiUrl);
    const waiting = remote.waitFor(1, { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 700));
    await send(sink);
    expect(await waiting).toHaveLength(1);
  });

  it('the remote client retries a wait turned away with 429', async () => {
    const sink = await apiSink({ maxWaits: 1 });
    const stop = new AbortController();
    const holder = get(`${sink.apiUrl}/api/wait?count=99&timeout=20000`, stop.signal).catch(() => undefined);
    await holding(sink, [holder], 1);
    const remote = await connectSink(sink.apiUrl);
    const waiting = remote.waitFor(1, { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop.abort();
    await holder;
    await send(sink);
    expect(await waiting).toHaveLength(1);
  });

  it('refuses api.maxWaits beyond half the API connections, naming the option', async () => {
    await expect(startSink({ api: { maxWaits: 1000 } })).rejects.toThrow(/option "api\.maxWaits" must be/);
  });
});
