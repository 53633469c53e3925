import { existsSync, readFileSync } from 'node:fs';
import { connectSink } from '@mailhole/core';
import { SINK_ENV_VARIABLES, startSharedSink } from '@mailhole/core/adapter';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';

const saved = Object.fromEntries(SINK_ENV_VARIABLES.map((name) => [name, process.env[name]]));
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('startSharedSink', () => {
  it('publishes the sink in MAILHOLE_* with a CA file a client verifies it with, and takes it all back on close', async () => {
    process.env.MAILHOLE_API_TOKEN = 'left over from elsewhere';
    const shared = await startSharedSink({ tls: 'starttls', capture: 'full' });
    const caFile = process.env.MAILHOLE_CA_FILE as string;

    expect(process.env.MAILHOLE_URL).toBe(shared.sink.url);
    expect(process.env.MAILHOLE_API_URL).toBe(shared.sink.apiUrl);
    expect(process.env.MAILHOLE_API_TOKEN).toBeUndefined();
    expect(caFile).toBe(shared.caFile);
    expect(readFileSync(caFile, 'utf8')).toBe(shared.sink.ca);

    // What an app in another process does with the variables: send over STARTTLS, verifying the sink.
    const transport = nodemailer.createTransport({
      host: process.env.MAILHOLE_HOST,
      port: Number(process.env.MAILHOLE_PORT),
      requireTLS: true,
      tls: { ca: readFileSync(caFile, 'utf8'), servername: 'localhost' },
    });
    try {
      await transport.sendMail({ from: 'app@test.example', to: 'ada@test.example', subject: 'hi', text: 'hi' });
    } finally {
      transport.close();
    }
    const remote = await connectSink(process.env.MAILHOLE_API_URL);
    expect(await remote.accepted()).toBe(1);

    await shared.close();
    await shared.close();
    expect(existsSync(caFile)).toBe(false);
    expect(process.env.MAILHOLE_API_TOKEN).toBe('left over from elsewhere');
    expect(process.env.MAILHOLE_URL).toBe(saved.MAILHOLE_URL);
  });

  it('guards its control API with the token it is given, and names a bad api option', async () => {
    const shared = await startSharedSink({ api: { token: 'run-secret' } });
    try {
      expect(shared.env.MAILHOLE_API_TOKEN).toBe('run-secret');
      expect(shared.env.MAILHOLE_CA_FILE).toBeUndefined();
      await expect(connectSink(shared.sink.apiUrl, { token: 'wrong' })).rejects.toThrow(/401/);
    } finally {
      await shared.close();
    }
    await expect(startSharedSink({ api: false as never })).rejects.toThrow('option "api" must be control API options');
  });
});
