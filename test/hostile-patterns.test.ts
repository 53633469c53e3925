import { type Sink, startSink } from '@mailhole/core';
import { afterEach, describe, expect, it } from 'vitest';
import { greeted } from './support/smtp-wire.js';

const sinks: Sink[] = [];
afterEach(async () => {
  for (const sink of sinks.splice(0)) await sink.close();
});

async function apiSink(): Promise<Sink & { apiUrl: string }> {
  const sink = await startSink({ api: true });
  sinks.push(sink);
  return sink as Sink & { apiUrl: string };
}

function postFault(sink: { apiUrl: string }, rule: unknown): Promise<Response> {
  return fetch(`${sink.apiUrl}/api/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(rule),
  });
}

describe('fault patterns from HTTP cannot freeze the sink', () => {
  it('a catastrophic pattern, /(a+)+$/, answers a hostile RCPT at once and the API stays up', async () => {
    const sink = await apiSink();
    const added = await postFault(sink, { stage: 'rcpt', match: { recipient: '/(a+)+$/' }, action: '550' });
    expect(added.status).toBe(201);
    const { wire } = await greeted(sink.port);
    try {
      expect((await wire.command('MAIL FROM:<x@client.test>')).code).toBe(250);
      // A backtracking engine spends seconds (doubling with each "a") on this address; the sink must not.
      expect((await wire.command(`RCPT TO:<${'a'.repeat(40)}!@sink.test>`, 2000)).code).toBe(250);
      expect((await wire.command(`RCPT TO:<b@${'a'.repeat(40)}>`)).code).toBe(550);
    } finally {
      wire.destroy();
    }
    expect((await fetch(`${sink.apiUrl}/api/stats`)).status).toBe(200);
  });

  it.each([
    ['/(a)\\1@x/', /back-references/],
    ['/^(?=a)b/', /lookahead/],
    ['/(?<!a)b/', /lookbehind/],
    [`/${'a'.repeat(1001)}/`, /at most 1000 characters/],
  ])('POST /api/faults with %s is a 400 that names what is refused', async (recipient, message) => {
    const sink = await apiSink();
    const answer = await postFault(sink, { stage: 'rcpt', match: { recipient }, action: '550' });
    expect(answer.status).toBe(400);
    const body = (await answer.json()) as { error: string };
    expect(body.error).toMatch(/"match\.recipient" cannot be used/);
    expect(body.error).toMatch(message);
  });

  it('a header value pattern is held to the same rule', async () => {
    const sink = await apiSink();
    const answer = await postFault(sink, {
      stage: 'message',
      match: { header: { name: 'X-Test', value: '/(x)\\1/' } },
      action: '550',
    });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: string }).error).toMatch(/match\.header\.value.*back-references/);
  });

  it('in-process, a RegExp object still runs on JavaScript’s engine (lookahead included)', async () => {
    const sink = await startSink();
    sinks.push(sink);
    expect(() => sink.faults.add({ stage: 'rcpt', match: { recipient: /^(?=bob)/ }, action: '550' })).not.toThrow();
  });
});
