import { bounceReplies, type Sink } from '@mailhole/core';
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { describe, expect, it } from 'vitest';
import { sinkForTest, transportForTest } from './support/tls-clients.js';

const letter = { from: 'app@client.test', to: 'user@sink.test', subject: 'mode test', text: 'Hello.' };
const bounceResponses = bounceReplies.map((r) => `${r.code} ${r.enhanced} ${r.text}`);

/** A plaintext nodemailer transport to `sink` (no STARTTLS), closed when the test ends. */
function transport(sink: Sink, options: SMTPTransport.Options = {}): Transporter<SMTPTransport.SentMessageInfo> {
  return transportForTest(sink, { ignoreTLS: true, ...options });
}

/** Sends `count` messages one after another and returns the final reply each got. */
async function finalReplies(t: Transporter, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      await t.sendMail(letter);
      out.push('250');
    } catch (error) {
      out.push(String((error as { response?: string }).response));
    }
  }
  return out;
}

describe('black-hole modes, seen by nodemailer', () => {
  it('bounce: every message fails with a reply of the bounce set, code and enhanced code', async () => {
    const sink = await sinkForTest({ mode: 'bounce' });

    const got = await finalReplies(transport(sink, { pool: true, maxConnections: 1 }), 20);

    expect(got.every((r) => bounceResponses.includes(r))).toBe(true);
    expect(sink.stats()).toMatchObject({ accepted: 0, rejected: 20 });
  });

  it('the error nodemailer raises carries the bounce code', async () => {
    const sink = await sinkForTest({ mode: 'bounce', seed: 11 });
    let error: { responseCode?: number; response?: string } | undefined;

    try {
      await transport(sink).sendMail(letter);
    } catch (e) {
      error = e as typeof error;
    }
    const [record] = sink.deliveries({ includeRejected: true });

    expect(bounceReplies.map((r) => r.code)).toContain(error?.responseCode);
    expect(error?.response).toBe(`${record?.reply.code} ${record?.reply.enhanced} ${record?.reply.text}`);
  });

  it('random with the same seed gives the same replies over 50 messages; another seed does not', async () => {
    const run = async (seed: number) => {
      const sink = await sinkForTest({ mode: 'random', seed });
      return finalReplies(transport(sink, { pool: true, maxConnections: 1 }), 50);
    };

    const first = await run(20240601);
    const again = await run(20240601);
    const other = await run(7);

    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    expect(first).toContain('250');
    expect(first.some((r) => r !== '250')).toBe(true);
  });

  it('a failing random run can be repeated from the seed the sink reports', async () => {
    const original = await sinkForTest({ mode: 'random', acceptRatio: 0.3 });
    const seen = await finalReplies(transport(original), 10);

    const replay = await sinkForTest({ mode: 'random', acceptRatio: 0.3, seed: original.seed });

    expect(await finalReplies(transport(replay), 10)).toEqual(seen);
    expect(original.describe()).toContain(`seed ${original.seed}`);
  });

  it('per-listener mode: the implicit-TLS listener bounces while the plain one accepts', async () => {
    const sink = await sinkForTest({ tls: 'both', listeners: { smtps: { mode: 'bounce' } } });
    const plain = transport(sink);
    const implicit = transportForTest(sink, { port: sink.tlsPort, secure: true, tls: sink.clientTls() });

    const [viaPlain, viaTls] = await Promise.all([finalReplies(plain, 3), finalReplies(implicit, 3)]);

    expect(viaPlain).toEqual(['250', '250', '250']);
    expect(viaTls.every((r) => bounceResponses.includes(r))).toBe(true);
    expect(sink.deliveries().every((d) => d.listener === 'smtp')).toBe(true);
  });
});
