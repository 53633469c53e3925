#!/usr/bin/env node
// Runs the README example of @mailhole/playwright the way a user would: @mailhole/core and
// @mailhole/playwright are packed and installed with plain npm (not the workspace) into a fresh
// project next to @playwright/test, once for the current Playwright release line and once for the
// one before; the README's playwright.config.ts and tests/sign-in.spec.ts are written out of the
// README itself, the app beside them; `playwright test` must pass both tests on 2 workers. The
// globalSetup example (the sink from @mailhole/playwright/global-setup, the app from a second
// globalSetup) runs beside it.
//
// Usage: node scripts/playwright-examples.mjs [--no-build] [--keep]
//   --no-build  pack the packages as they are built now (default: build them first)
//   --keep      keep the sandbox folders (their paths are printed)
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const playwrightPackage = join(root, 'packages', 'playwright');
const example = join(playwrightPackage, 'test', 'examples', 'sign-in');
/** The current @playwright/test release line and the one before it (Playwright ships every minor as a release). */
const versions = ['1.65.1', '1.64.1'];
const chromium = '/usr/bin/chromium';
const packages = [join(root, 'packages', 'core'), playwrightPackage];

function say(text) {
  console.log(`playwright-examples: ${text}`);
}

function run(command, args, options = {}) {
  const shown = `${command} ${args.join(' ')}`;
  say(`$ ${shown}${options.cwd ? `   (in ${relative(root, options.cwd) || '.'})` : ''}`);
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.error) throw new Error(`cannot run ${shown}: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(`${shown} failed (exit ${result.status ?? result.signal}); see its output above`);
}

/** The code block of the README that starts with `// <file>`, without that line. */
function readmeBlock(readme, file) {
  const marker = `\`\`\`ts\n// ${file}\n`;
  const start = readme.indexOf(marker);
  if (start < 0) throw new Error(`the @mailhole/playwright README has no \`\`\`ts block starting with "// ${file}"`);
  const end = readme.indexOf('```', start + marker.length);
  return readme.slice(start + marker.length, end);
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

if (!process.argv.includes('--no-build')) for (const dir of packages) run('pnpm', ['run', 'build'], { cwd: dir });

const work = mkdtempSync(join(tmpdir(), 'mailhole-playwright-examples-'));
const keep = process.argv.includes('--keep');
try {
  const packs = join(work, 'packs');
  mkdirSync(packs);
  for (const dir of packages)
    run('pnpm', ['pack', '--pack-destination', packs], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  const tarballs = readdirSync(packs).map((file) => join(packs, file));
  const readme = readFileSync(join(playwrightPackage, 'README.md'), 'utf8');
  const nodemailer = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies.nodemailer;

  for (const version of versions) {
    const project = join(work, `playwright-${version}`);
    const signIn = join(project, 'sign-in');
    mkdirSync(join(signIn, 'tests'), { recursive: true });
    writeFileSync(
      join(project, 'package.json'),
      `${JSON.stringify({ name: 'sign-in-example', private: true, type: 'module' }, null, 2)}\n`,
    );
    writeFileSync(join(signIn, 'playwright.config.ts'), readmeBlock(readme, 'playwright.config.ts'));
    writeFileSync(join(signIn, 'tests', 'sign-in.spec.ts'), readmeBlock(readme, 'tests/sign-in.spec.ts'));
    copyFileSync(join(example, 'app.mjs'), join(signIn, 'app.mjs'));
    // The other documented setup (globalSetup files, the app started by the second) beside it.
    cpSync(join(example, '..', 'global-setup'), join(project, 'global-setup'), { recursive: true });
    run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        '--save-dev',
        `@playwright/test@${version}`,
        `nodemailer@${nodemailer}`,
        ...tarballs,
      ],
      { cwd: project },
    );
    for (const dir of [signIn, join(project, 'global-setup')]) {
      run(
        process.execPath,
        [join(project, 'node_modules', '@playwright', 'test', 'cli.js'), 'test', '--reporter=list'],
        {
          cwd: dir,
          env: { ...process.env, CI: 'true', CHROMIUM_PATH: chromium, APP_PORT: String(await freePort()) },
        },
      );
    }
    say(`@playwright/test@${version}: the README example and the globalSetup example passed`);
  }
} finally {
  if (keep) say(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
