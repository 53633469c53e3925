import { existsSync, readFileSync } from 'node:fs';
import { SINK_ENV_VARIABLES } from '@mailhole/core/adapter';
import { createGlobalSetup, type GlobalSetupProject } from '@mailhole/vitest/global-setup';
import { afterEach, expect, it } from 'vitest';

const saved = Object.fromEntries(SINK_ENV_VARIABLES.map((name) => [name, process.env[name]]));
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

it('publishes the same MAILHOLE_* as the Jest and Playwright global setups, the CA file included', async () => {
  const provided = new Map<string, unknown>();
  const project = { provide: (key: string, value: unknown) => provided.set(key, value) } as GlobalSetupProject;

  const teardown = await createGlobalSetup({ tls: 'starttls', token: 'run-secret' })(project);
  const address = provided.get('mailhole') as { port: number; apiUrl: string; ca: string };
  const caFile = process.env.MAILHOLE_CA_FILE as string;
  try {
    expect(process.env.MAILHOLE_PORT).toBe(String(address.port));
    expect(process.env.MAILHOLE_API_URL).toBe(address.apiUrl);
    expect(process.env.MAILHOLE_API_TOKEN).toBe('run-secret');
    expect(readFileSync(caFile, 'utf8')).toBe(address.ca);
  } finally {
    await teardown();
  }

  expect(existsSync(caFile)).toBe(false);
  expect(process.env.MAILHOLE_CA_FILE).toBe(saved.MAILHOLE_CA_FILE);
});
