import { afterEach, describe, expect, it } from 'vitest';
import { publishEnv, sinkEnv } from '../src/adapter/index.js';
import { type Sink, startSink } from '../src/index.js';

const sinks: Sink[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

describe('sinkEnv and publishEnv', () => {
  it('describe a plain sink with its API and leave the TLS variables empty', async () => {
    const sink = await startSink({ api: { port: 0 } });
    sinks.push(sink);

    const env = sinkEnv(sink, { token: 's3cret' });

    expect(env).toEqual({
      MAILHOLE_HOST: '127.0.0.1',
      MAILHOLE_PORT: String(sink.port),
      MAILHOLE_URL: sink.url,
      MAILHOLE_API_URL: sink.apiUrl,
      MAILHOLE_API_TOKEN: 's3cret',
      MAILHOLE_TLS_PORT: undefined,
      MAILHOLE_TLS_URL: undefined,
      MAILHOLE_CA_FILE: undefined,
    });
  });

  it('publish the variables, clear stale ones, and restore what was there before', async () => {
    const sink = await startSink({ tls: 'implicit' });
    sinks.push(sink);
    process.env.MAILHOLE_API_URL = 'http://stale.invalid:1';
    process.env.MAILHOLE_PORT = '1';

    const restore = publishEnv(sinkEnv(sink, { caFile: '/tmp/ca.pem' }));
    try {
      expect(process.env.MAILHOLE_PORT).toBe(String(sink.port));
      expect(process.env.MAILHOLE_TLS_PORT).toBe(String(sink.tlsPort));
      expect(process.env.MAILHOLE_TLS_URL).toBe(sink.tlsUrl);
      expect(process.env.MAILHOLE_CA_FILE).toBe('/tmp/ca.pem');
      expect('MAILHOLE_API_URL' in process.env).toBe(false);
    } finally {
      restore();
    }

    expect(process.env.MAILHOLE_PORT).toBe('1');
    expect(process.env.MAILHOLE_API_URL).toBe('http://stale.invalid:1');
    expect('MAILHOLE_TLS_PORT' in process.env).toBe(false);
    delete process.env.MAILHOLE_PORT;
    delete process.env.MAILHOLE_API_URL;
  });
});
