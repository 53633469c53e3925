import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARK_FLAGS, STATS_FLAGS, WAIT_FLAGS } from '../packages/core/src/cli/client.js';
import { FLAGS as SERVE_FLAGS } from '../packages/core/src/cli/serve-flags.js';
import { runProgram } from '../packages/core/test/control-serve.js';
import { runExample } from './vitest/harness.js';

// Doc tests: every fenced block of every README (the root one and packages/*/README.md) is found
// here and handled by one rule, so no example can rot unseen.
//
//   ts/js that imports @mailhole/core, no test in it   a program: type-checked by tsc (strict), then
//                                                       run by node; it must exit 0
//   ts that imports @mailhole/vitest and has test(…)   a test file: run by Vitest, every test must pass
//   sh                                                  every command is one a reader may run: known
//                                                       programs only, `mailhole` flags that the
//                                                       command has, npx only with -p @mailhole/core;
//                                                       the Set-up commands are run as written by
//                                                       test/newcomer.test.ts
//   no language, a file layout                          every path it names exists
//   anything else                                       must be listed in NOT_RUN below with the
//                                                       reason; a new block that fits no rule fails
//
// NOT_RUN is the reviewed list of blocks that are not executed here, keyed by README and first line.

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const NOT_RUN: Record<string, string> = {
  'README.md: waitFor timed out after 2000 ms with 1 of 3 deliveries.':
    'output sample; the real format is asserted in test/server-lifecycle.test.ts and packages/core/test/assertions.test.ts',
  'README.md: mailhole 0.1.0 is listening':
    'output sample of serve on a terminal; the human banner is asserted by test/cli-serve.test.ts',
  'packages/vitest/README.md: AssertionError: expected \u0027failed\u0027 to be \u0027sent\u0027':
    'output sample; test/vitest/matchers.test.ts asserts these lines in a real failing run',
  'packages/vitest/README.md: import { withMailhole } from \u0027@mailhole/vitest\u0027;':
    'fragments naming the reader\u0027s own Mailer; the same shapes run in test/vitest/examples/composed and file-scope',
  'packages/vitest/README.md: // vitest.config.ts':
    'a config fragment; test/vitest/examples/global-setup runs the same config',
  'packages/vitest/README.md: test(\u0027a sign-up sends one mail\u0027, async ({ sharedMailhole }) => {':
    'a fragment of a global-setup project; test/vitest/examples/global-setup runs it',
  'packages/vitest/README.md: // mailhole.setup.ts, listed in globalSetup':
    'a globalSetup file; test/vitest/examples/global-setup/mailhole.setup.ts is the same',
  'packages/vitest/README.md: Error: expect(mailhole).toHaveAccepted(2)':
    'output sample; test/vitest/matchers.test.ts asserts these lines in a real failing run',
  'README.md: cli/ (mailhole)   adapter/ (@mailhole/core/adapter, shared adapter plumbing)':
    'a diagram of the layers; test/structure.test.ts checks the import graph it draws',
  'README.md: const mailbox = createMailbox(sink);':
    "a fragment naming the reader's app (app.requestSignInLink); not run yet: to be made a complete program",
  "packages/core/README.md: const mailbox = createMailbox(sink); // user-3f9a0c1b2d@mailhole.test; needs capture: 'full'":
    "a fragment naming the reader's app; not run yet: to be made a complete program",
  'packages/playwright/README.md: // playwright.config.ts':
    'a Playwright config; scripts/playwright-examples.mjs runs the packed example it shows',
  'packages/playwright/README.md: // tests/sign-in.spec.ts':
    'a Playwright test; scripts/playwright-examples.mjs runs the packed example it shows',
  "README.md: sink.on('recipient', ({ connectionId }) => sink.dropSession(connectionId));":
    'a one-line fragment; test/hooks.test.ts drops a live session mid-transaction the same way',
  "README.md: // const { SMTPServer } = require('smtp-server');":
    'binds the fixed port 2525; test/smtp-server-compat.test.ts runs the same server with these callbacks',
  'packages/jest/README.md: *':
    'Jest blocks (configs, test files, setup files): the same projects run under Jest in test/jest/examples/*',
};

interface Block {
  file: string;
  line: number;
  lang: string;
  text: string;
  key: string;
}

function blocks(): Block[] {
  const files = ['README.md', ...readdirSync(join(root, 'packages')).map((p) => `packages/${p}/README.md`)].filter(
    (f) => {
      try {
        readFileSync(join(root, f));
        return true;
      } catch {
        return false;
      }
    },
  );
  const found: Block[] = [];
  for (const file of files) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(\w*)\s*$/.exec(lines[i] as string);
      if (open === null) continue;
      const end = lines.indexOf('```', i + 1);
      if (end < 0) throw new Error(`${file}:${i + 1}: a code block that never closes`);
      const text = lines.slice(i + 1, end).join('\n');
      found.push({ file, line: i + 1, lang: open[1] ?? '', text, key: `${file}: ${lines[i + 1]}` });
      i = end;
    }
  }
  return found;
}

const all = blocks();
const isProgram = (b: Block) =>
  (b.lang === 'ts' || b.lang === 'js') && /from '@mailhole\/core'/.test(b.text) && !/\btest\(/.test(b.text);
const isVitestFile = (b: Block) =>
  b.lang === 'ts' && /from '@mailhole\/vitest'/.test(b.text) && /\btest\(/.test(b.text) && NOT_RUN[b.key] === undefined;
const isLayout = (b: Block) => b.lang === '' && /^(packages|test|bench)\//m.test(b.text);
const notRun = (b: Block) => NOT_RUN[b.key] !== undefined || NOT_RUN[`${b.file}: *`] !== undefined;

describe('every README code block falls under a rule', () => {
  it('has blocks to check', () => {
    expect(all.filter(isProgram).length).toBeGreaterThanOrEqual(5);
    expect(all.filter(isVitestFile).length).toBeGreaterThanOrEqual(2);
  });

  it('no block is left without a rule, and NOT_RUN names only blocks that exist', () => {
    const unhandled = all.filter(
      (b) => !isProgram(b) && !isVitestFile(b) && b.lang !== 'sh' && !isLayout(b) && !notRun(b),
    );
    const stale = Object.keys(NOT_RUN).filter((key) => !key.endsWith(': *') && !all.some((b) => b.key === key));

    expect(unhandled.map((b) => `${b.file}:${b.line} (${b.lang || 'no language'})`)).toEqual([]);
    expect(stale).toEqual([]);
  });
});

describe('programs: type-checked by tsc and run by node', () => {
  const programs = all.filter(isProgram);
  let dir: string;

  beforeAll(async () => {
    // Inside the repository, so that @mailhole/core and nodemailer resolve as in a user's project.
    dir = mkdtempSync(join(root, 'test', '.readme-programs-'));
    for (const b of programs) {
      writeFileSync(join(dir, `${basename(dirname(join(root, b.file))) || 'root'}-${b.line}.mts`), b.text);
    }
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          target: 'es2022',
          strict: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: true,
          types: ['node'],
          rootDir: '.',
          outDir: 'out',
        },
        include: ['*.mts'],
      }),
    );
    const tsc = await runProgram(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir],
      process.env,
      120_000,
    );
    if (tsc.code !== 0) {
      throw new Error(
        `README programs do not type-check (files in ${relative(root, dir)}):\n${tsc.stdout}${tsc.stderr}`,
      );
    }
  }, 180_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(programs.map((b) => [`${b.file}:${b.line}`, b] as const))('%s runs and exits 0', async (_where, b) => {
    const file = join(dir, 'out', `${basename(dirname(join(root, b.file))) || 'root'}-${b.line}.mjs`);
    const result = await runProgram(process.execPath, [file], process.env, 60_000);

    expect(result.code, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stderr).toBe('');
  });
});

describe('Vitest test files: run by Vitest', () => {
  it('every README test file passes', { timeout: 240_000 }, async () => {
    const files = all.filter(isVitestFile);
    const name = `readme-blocks-${process.pid}`;
    const dir = join(root, 'test', 'vitest', 'examples', name);
    mkdirSync(dir, { recursive: true });
    try {
      for (const b of files) {
        writeFileSync(join(dir, `${basename(dirname(join(root, b.file))) || 'root'}-${b.line}.test.ts`), b.text);
      }
      writeFileSync(
        join(dir, 'vitest.config.ts'),
        "import { defineConfig } from 'vitest/config';\nexport default defineConfig({ test: { include: ['*.test.ts'], testTimeout: 30_000 } });\n",
      );
      const run = await runExample(name);

      expect(run.report.numFailedTests, run.output).toBe(0);
      expect(run.report.numPassedTests).toBe(files.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shell blocks: commands a reader may run', () => {
  const flagsOf: Record<string, Record<string, unknown>> = {
    serve: SERVE_FLAGS,
    wait: WAIT_FLAGS,
    stats: STATS_FLAGS,
    mark: MARK_FLAGS,
  };
  const programs = new Set(['npm', 'pnpm', 'npx', 'mailhole', 'node']);
  const commands = all
    .filter((b) => b.lang === 'sh')
    .flatMap((b) =>
      b.text
        .split('\n')
        .map((line) => line.replace(/\s+#.*$/, '').trim())
        .filter((line) => line !== '' && !line.startsWith('#'))
        .flatMap((line) => line.split(/\s*(?:&&|\|\|?|;)\s*/))
        .filter((command) => !command.startsWith('./'))
        .map((command) => [`${b.file}:${b.line}: ${command}`, command] as const),
    );

  it.each(commands)('%s', (_where, command) => {
    const words = command.split(/\s+/);
    const program = words[0] as string;
    expect(programs.has(program), `${program} is not a program the README may send readers to`).toBe(true);
    if (program === 'npx') {
      // A bare `npx mailhole` would run whatever unscoped package of that name the registry has.
      expect(words.slice(1, 3)).toEqual(['-p', '@mailhole/core']);
    }
    const at = words.indexOf('mailhole');
    if (at >= 0 && program !== 'npm') {
      const sub = words[at + 1] as string;
      const known = flagsOf[sub];
      expect(known, `mailhole ${sub} is not a command`).toBeDefined();
      const used = words.filter((w) => w.startsWith('--')).map((w) => w.slice(2).split('=')[0] as string);
      expect(used.filter((flag) => !(flag in (known ?? {})))).toEqual([]);
    }
  });
});

describe('file layouts: the paths exist', () => {
  it.each(all.filter(isLayout).map((b) => [`${b.file}:${b.line}`, b] as const))('%s', (_where, b) => {
    const paths = b.text
      .split('\n')
      .map((line) => line.split(/\s+/)[0] as string)
      .filter((path) => /^(packages|test|bench)\//.test(path));
    const missing = paths.filter((path) => {
      try {
        readdirSync(join(root, path));
        return false;
      } catch {
        return true;
      }
    });

    expect(paths.length).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });
});
