import { connectSink } from '@mailhole/core';
import { SINK_ENV_VARIABLES } from '@mailhole/core/adapter';
import { mailholeFixtures, startSharedMailhole, stopSharedMailhole } from '@mailhole/playwright';
import { afterEach, describe, expect, it } from 'vitest';

const names = [...SINK_ENV_VARIABLES, 'MAILHOLE_PLAYWRIGHT_OWNER'];
const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
afterEach(async () => {
  await stopSharedMailhole();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('startSharedMailhole', () => {
  it('starts one sink in the process that calls it first, keeping whole messages, and publishes it', async () => {
    const env = await startSharedMailhole();
    const again = await startSharedMailhole();
    const sink = await connectSink(env.MAILHOLE_API_URL);

    expect(again).toBe(env);
    expect(process.env.MAILHOLE_URL).toBe(env.MAILHOLE_URL);
    expect(process.env.MAILHOLE_PLAYWRIGHT_OWNER).toBe(String(process.pid));
    expect(sink.info.options.capture).toBe('full');

    await stopSharedMailhole();
    expect(process.env.MAILHOLE_URL).toBe(saved.MAILHOLE_URL);
    await expect(connectSink(env.MAILHOLE_API_URL)).rejects.toThrow();
  });

  it('starts nothing in a worker: it answers what the main process published', async () => {
    process.env.MAILHOLE_PLAYWRIGHT_OWNER = String(process.pid + 1);
    process.env.MAILHOLE_URL = 'smtp://127.0.0.1:2999';
    process.env.MAILHOLE_API_URL = 'http://127.0.0.1:3999';

    const env = await startSharedMailhole({ tls: 'starttls' });

    expect(env.MAILHOLE_URL).toBe('smtp://127.0.0.1:2999');
    expect(env.MAILHOLE_API_URL).toBe('http://127.0.0.1:3999');
    expect(env.MAILHOLE_CA_FILE).toBeUndefined();
  });

  it('lets a bad option fail the start with the option named, and a later call try again', async () => {
    await expect(startSharedMailhole({ mode: 'sideways' as never })).rejects.toThrow(/mode/);
    expect(process.env.MAILHOLE_PLAYWRIGHT_OWNER).toBe(saved.MAILHOLE_PLAYWRIGHT_OWNER);
    expect((await startSharedMailhole()).MAILHOLE_API_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('the sink fixture', () => {
  it('says how to start the shared sink when the run has none', async () => {
    delete process.env.MAILHOLE_API_URL;
    const [sinkFixture] = mailholeFixtures.sink as unknown as [
      (context: object, use: () => Promise<void>) => Promise<void>,
    ];

    await expect(sinkFixture({}, async () => {})).rejects.toThrow(
      'The sink fixture found no MAILHOLE_API_URL: start the shared sink before the tests: `await startSharedMailhole()` at the top of playwright.config',
    );
  });
});
