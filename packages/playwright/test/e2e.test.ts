import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type PlaywrightRun, runPlaywright } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));

// The browser examples (sign-in with webServer, global-setup) run in .ci/run through
// scripts/playwright-examples.mjs (`pnpm check:playwright`), packed and npm-installed, under two
// Playwright versions: two Chromiums beside the rest of this suite starve the timing-sensitive
// tests on a 2-core machine. These need no browser.

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
    'shows %s exactly as the example that pnpm check:playwright runs',
    (file) => {
      const block = new RegExp(`\`\`\`(?:ts|js)\\n// ${file.replace(/[./]/g, '\\$&')}\\n([\\s\\S]*?)\`\`\``).exec(
        readme,
      );
      expect(block, `no code block starting with "// ${file}" in the README`).not.toBeNull();
      expect(block?.[1]).toBe(readFileSync(join(example, file), 'utf8'));
    },
  );
});
