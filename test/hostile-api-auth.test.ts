import { type Sink, startSink, UnauthenticatedApiError } from '@mailhole/core';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../packages/core/test/control-serve.js';

const sinks: Sink[] = [];
afterEach(async () => {
  for (const sink of sinks.splice(0)) await sink.close();
});

async function track(promise: Promise<Sink>): Promise<Sink & { apiUrl: string }> {
  const sink = await promise;
  sinks.push(sink);
  return sink as Sink & { apiUrl: string };
}

/** The API bound to every address is reached through loopback in the test. */
const local = (sink: { apiUrl: string }) => sink.apiUrl.replace('0.0.0.0', '127.0.0.1');

describe('the bearer scheme is case-insensitive (RFC 9110 §11.1)', () => {
  it.each(['Bearer', 'bearer', 'BEARER', 'bEaReR'])('"%s <token>" is accepted', async (scheme) => {
    const sink = await track(startSink({ api: { token: 's3cret' } }));
    const answer = await fetch(`${sink.apiUrl}/api/stats`, { headers: { Authorization: `${scheme} s3cret` } });
    expect(answer.status).toBe(200);
  });

  it('a wrong token under a lower-case scheme is still 401', async () => {
    const sink = await track(startSink({ api: { token: 's3cret' } }));
    const answer = await fetch(`${sink.apiUrl}/api/stats`, { headers: { Authorization: 'bearer nope' } });
    expect(answer.status).toBe(401);
  });
});

describe('a control API beyond loopback needs a token', () => {
  it('startSink refuses a non-loopback api.host without a token, naming both ways out', async () => {
    const attempt = startSink({ api: { host: '0.0.0.0' } });
    await expect(attempt).rejects.toBeInstanceOf(UnauthenticatedApiError);
    await expect(attempt).rejects.toThrow(
      /api\.token.*--token.*api\.allowUnauthenticated.*--api-allow-unauthenticated/s,
    );
  });

  it('starts with a token, and then answers only with it', async () => {
    const sink = await track(startSink({ api: { host: '0.0.0.0', token: 't0ken' } }));
    expect((await fetch(`${local(sink)}/api/stats`)).status).toBe(401);
    const ok = await fetch(`${local(sink)}/api/stats`, { headers: { Authorization: 'bearer t0ken' } });
    expect(ok.status).toBe(200);
  });

  it('starts without a token when told so explicitly', async () => {
    const sink = await track(startSink({ api: { host: '0.0.0.0', allowUnauthenticated: true } }));
    expect((await fetch(`${local(sink)}/api/stats`)).status).toBe(200);
  });

  it('loopback needs nothing, as before', async () => {
    const sink = await track(startSink({ api: { host: '127.0.0.1' } }));
    expect((await fetch(`${sink.apiUrl}/api/stats`)).status).toBe(200);
  });

  it('mailhole serve --api-host 0.0.0.0 without a token exits 2 before binding, naming --token and the opt-out', async () => {
    const result = await runCli(['serve', '--port', '0', '--api-port', '0', '--api-host', '0.0.0.0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--token/);
    expect(result.stderr).toMatch(/--api-allow-unauthenticated/);
    expect(result.stdout).not.toMatch(/smtp:\/\//);
  });
});
