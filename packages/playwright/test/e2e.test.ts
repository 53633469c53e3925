import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../../../test/support/child.js';
import { CHROMIUM, freePort, type PlaywrightRun, runPlaywright } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('the sign-in example: sink started in playwright.config, app by webServer, 2 workers', () => {
  let run: PlaywrightRun;
  beforeAll(async () => {
    requireTool(CHROMIUM, 'apt-get install chromium (scripts/ensure-clients.mjs does it)');
    run = await runPlaywright('sign-in', { APP_PORT: String(await freePort()), CHROMIUM_PATH: CHROMIUM });
  }, 200_000);

  it('follows links()[0] from the mail and types the 6-digit code, both signing in', () => {
    expect(run.tests.map((t) => [t.title, t.status, t.error])).toEqual([
      ['signs in with the link from the mail', 'passed', ''],
      ['signs in with the 6-digit code from the mail', 'passed', ''],
    ]);
    expect(run.code, run.output).toBe(0);
  });

  it('runs the two tests in two workers at once, each with its own mailbox on the one sink', () => {
    expect(new Set(run.tests.map((t) => t.parallelIndex)).size).toBe(2);
  });
});

describe('the globalSetup setup: mailhole global setup, then the app from a second globalSetup', () => {
  let run: PlaywrightRun;
  beforeAll(async () => {
    requireTool(CHROMIUM, 'apt-get install chromium (scripts/ensure-clients.mjs does it)');
    run = await runPlaywright('global-setup', { APP_PORT: String(await freePort()), CHROMIUM_PATH: CHROMIUM });
  }, 200_000);

  it('gives the app the sink address and the workers the sink', () => {
    expect(run.tests.map((t) => [t.title, t.status, t.error])).toEqual([
      ['the app started after the sink sends it the code', 'passed', ''],
      ['the workers reach the one shared sink', 'passed', ''],
    ]);
    expect(run.code, run.output).toBe(0);
  });
});

describe('failure messages in Playwright', () => {
  let run: PlaywrightRun;
  beforeAll(async () => {
    run = await runPlaywright('failing');
  }, 200_000);
  const error = (title: string) => run.tests.find((t) => t.title === title)?.error ?? `(no test "${title}")`;

  it('fails the run', () => {
    expect(run.tests.map((t) => t.status)).toEqual(['failed', 'failed', 'failed']);
    expect(run.code).toBe(1);
  });

  it('words toReceive as the Vitest and Jest matchers do, with what arrived', () => {
    const message = error('toReceive fails saying what arrived');
    expect(message).toMatch(
      /^Error: expect\(mailhole\)\.toReceive\(2\)\n\nwaitFor timed out after 300 ms with 1 of 2 /,
    );
    expect(message).toMatch(
      /#1 accepted from <app@test\.example> to toreceive-fails-saying-w-[0-9a-f]{10}@mailhole\.test/,
    );
  });

  it('words toHaveAccepted as the Vitest and Jest matchers do', () => {
    expect(error('toHaveAccepted fails with both counts')).toMatch(
      /^Error: expect\(mailhole\)\.toHaveAccepted\(3\)\n\nExpected 3 accepted deliveries, received 1\.\n\n<tohaveaccepted-fails-wit-[0-9a-f]{10}@mailhole\.test> received 1 message\(s\):/,
    );
  });

  it('lists what reached the mailbox when waitForMessage times out, and attaches it to the report', () => {
    const message = error('waitForMessage fails listing the mailbox');
    expect(message).toMatch(
      /mailbox\.waitForMessage: no new message to <waitformessage-fails-lis-[0-9a-f]{10}@mailhole\.test> with a subject containing "Sign in" arrived in time\./,
    );
    expect(message).toContain('subject "Welcome"');
    expect(run.output).toContain('attachment #1: mailhole (text/plain)');
  });
});

describe('the README', () => {
  const readme = readFileSync(join(here, '..', 'README.md'), 'utf8');
  const example = join(here, 'examples', 'sign-in');

  it.each(['playwright.config.ts', 'tests/sign-in.spec.ts'])(
    'shows %s exactly as the example that runs above',
    (file) => {
      const block = new RegExp(`\`\`\`(?:ts|js)\\n// ${file.replace(/[./]/g, '\\$&')}\\n([\\s\\S]*?)\`\`\``).exec(
        readme,
      );
      expect(block, `no code block starting with "// ${file}" in the README`).not.toBeNull();
      expect(block?.[1]).toBe(readFileSync(join(example, file), 'utf8'));
    },
  );
});
