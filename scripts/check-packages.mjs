// Checks every publishable package the way a user receives it: the tarball `pnpm pack` makes (with
// `workspace:*` rewritten to real versions), linted by publint and @arethetypeswrong/cli, then
// installed with plain npm into an empty project and loaded from ESM and CommonJS. A broken
// `exports` map, a missing file or a bin that does not start fails here, not in a user's project.
//
// It checks what is built now: run `pnpm build` first. MAILHOLE_KEEP_PACK=1 keeps the temp folder.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const toolBin = (name) => join(root, 'node_modules', '.bin', name);

/** Named exports a package must expose from both `import` and `require` (beyond resolving). */
const requiredExports = {
  '@mailhole/core': ['startSink', 'createMailbox'],
  '@mailhole/core/adapter': ['startSharedSink', 'publishEnv', 'sinkEnv', 'checkAccepted'],
  '@mailhole/playwright': ['startSharedMailhole', 'test', 'expect'],
};

const failures = [];

function run(command, args, options = {}) {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: options.timeout ?? 300_000,
    cwd: options.cwd ?? root,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...options.env },
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  const ok = result.status === 0 && !result.error;
  const why = result.error ? result.error.message : `exit ${result.status ?? result.signal}`;
  return { ok, output, why, stdout: result.stdout ?? '' };
}

function indent(text) {
  return text
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
}

function pass(step, detail = '') {
  console.log(`  ok    ${step}${detail ? ` ${detail}` : ''}`);
}

function fail(pkg, step, message, output = '') {
  failures.push(`${pkg}: ${step}: ${message}`);
  console.log(`  FAIL  ${step}: ${message}`);
  if (output) console.log(indent(output));
}

function publishablePackages() {
  const folder = join(root, 'packages');
  const found = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(folder, entry.name);
    const manifestFile = join(dir, 'package.json');
    if (!existsSync(manifestFile)) continue;
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    if (manifest.private) {
      console.log(`skip ${manifest.name ?? entry.name}: private`);
      continue;
    }
    found.push({ dir, manifest });
  }
  // Core first: the adapters depend on it, and its failures explain theirs.
  return found.sort(
    (a, b) => Number(b.manifest.name === '@mailhole/core') - Number(a.manifest.name === '@mailhole/core'),
  );
}

/** `{ name: path }` of a manifest's `bin`, whichever form it was declared in. */
function binEntries(manifest) {
  if (typeof manifest.bin === 'string') return { [manifest.name.replace(/^@[^/]+\//, '')]: manifest.bin };
  return manifest.bin ?? {};
}

function normalize(path) {
  return path.replace(/^\.\//, '');
}

function pack(pkg, destination) {
  const result = run('pnpm', ['pack', '--json', '--pack-destination', destination], { cwd: pkg.dir });
  if (!result.ok) {
    fail(pkg.manifest.name, 'pnpm pack', result.why, result.output);
    return undefined;
  }
  const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('{')));
  const files = report.files.map((file) => normalize(file.path));
  pass('pnpm pack', `(${files.length} files)`);
  return { tarball: report.filename, files };
}

function lint(pkg, tarball) {
  const name = pkg.manifest.name;
  const publint = run(toolBin('publint'), ['run', tarball]);
  const findings = publint.output
    .split('\n')
    .filter((line) => !/^(Running publint|Unpacking tarball|Linting|All good)/.test(line))
    .join('\n')
    .trim();
  if (!publint.ok) fail(name, 'publint', 'reported errors', findings);
  else pass('publint', findings ? `(no errors; notes below)\n${indent(findings)}` : '');

  // node16 profile: a dual ESM+CJS package must resolve under node16 (from ESM and CJS) and bundler;
  // node10 resolution ignores `exports`, so subpath entries cannot work there and are not judged.
  const attwArgs = [tarball, '--profile', 'node16', '--no-emoji'];
  const attw = run(toolBin('attw'), [...attwArgs, '--format', 'json']);
  let analysis;
  try {
    analysis = JSON.parse(attw.stdout).analysis;
  } catch {
    fail(name, 'attw', attw.why, attw.output);
    return;
  }
  if (analysis.types === false) {
    fail(name, 'attw --profile node16', 'the tarball holds no type declarations (is the package built?)');
    return;
  }
  const problems = analysis.problems ?? [];
  const esmOnly = new Set(
    entryPoints(pkg.manifest)
      .filter(([, , conditions]) => !conditions.has('require'))
      .map(([subpath]) => subpath),
  );
  const judged = problems.filter((problem) => problem.resolutionKind !== 'node10');
  // An entry that declares no `require` condition is ESM-only on purpose (e.g. a globalSetup file
  // loaded by import); Node >= 20.19 can still require() it, so that finding is a note, not an error.
  const notes = judged.filter((problem) => problem.kind === 'CJSResolvesToESM' && esmOnly.has(problem.entrypoint));
  const real = judged.filter((problem) => !notes.includes(problem));
  const listing = (list) => list.map((p) => `${p.kind} at "${p.entrypoint}" (${p.resolutionKind})`).join('\n');
  if (real.length > 0) {
    const table = run(toolBin('attw'), [...attwArgs, '--format', 'table-flipped']);
    fail(name, 'attw --profile node16', `${real.length} problem(s)`, `${listing(real)}\n\n${table.output}`);
  } else {
    pass('attw --profile node16', notes.length > 0 ? `(ESM-only entries, not errors:)\n${indent(listing(notes))}` : '');
  }
}

/** Installs every tarball together, as a user would install an adapter next to core. */
function install(tarballs, folder) {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'package.json'), `${JSON.stringify({ name: 'mailhole-package-check', private: true })}\n`);
  console.log(`\nnpm install ${tarballs.length} tarball(s) into ${folder}`);
  const result = run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', ...tarballs],
    { cwd: folder, timeout: 600_000 },
  );
  if (!result.ok) {
    fail('npm install', 'npm install', result.why, result.output);
    return false;
  }
  pass('npm install');
  return true;
}

/** Every subpath of `exports`, how to load it and its conditions, e.g. `['.', ['import', 'require'], Set]`. */
function entryPoints(manifest) {
  const exportsField = manifest.exports;
  if (exportsField === undefined) return [['.', ['import', 'require'], new Set(['require', 'import'])]];
  const isSubpathMap = typeof exportsField === 'object' && Object.keys(exportsField).some((key) => key.startsWith('.'));
  const map = isSubpathMap ? exportsField : { '.': exportsField };
  const entries = [];
  for (const [subpath, target] of Object.entries(map)) {
    if (subpath.includes('*') || subpath.endsWith('.json') || target === null) continue;
    const conditions = new Set();
    const collect = (value) => {
      if (typeof value === 'string') conditions.add('default');
      else if (value && typeof value === 'object') {
        for (const [key, nested] of Object.entries(value)) {
          if (key === 'types') continue;
          conditions.add(key);
          collect(nested);
        }
      }
    };
    collect(target);
    const kinds = [];
    if (conditions.has('import') || conditions.has('default') || conditions.has('node')) kinds.push('import');
    if (conditions.has('require') || conditions.has('default') || conditions.has('node')) kinds.push('require');
    entries.push([subpath, kinds, conditions]);
  }
  return entries;
}

// Runs in the install folder, so Node resolves the packages exactly as a user's project would.
const probeSource = `
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const [kind, specifier, mode, names] = process.argv.slice(2);
const require = createRequire(process.cwd() + '/index.js');
const required = names ? names.split(',') : [];
try {
  let resolved;
  if (kind === 'import') resolved = fileURLToPath(import.meta.resolve(specifier));
  else resolved = require.resolve(specifier);
  if (!existsSync(resolved)) throw new Error(specifier + ' resolves to ' + resolved + ', which does not exist');
  if (mode === 'load') {
    const loaded = kind === 'import' ? await import(specifier) : require(specifier);
    const missing = required.filter((name) => typeof loaded[name] !== 'function');
    if (missing.length > 0) {
      throw new Error(kind + ' of ' + specifier + ' lacks ' + missing.join(', ') + '; it has: ' + Object.keys(loaded).join(', '));
    }
    console.log(kind + ' ' + specifier + ' -> ' + resolved + ' (exposes ' + required.join(', ') + ')');
  } else {
    console.log(kind + ' ' + specifier + ' -> ' + resolved);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
`;

function checkInstalled(pkg, packed, folder) {
  const name = pkg.manifest.name;
  const probe = join(folder, 'probe.mjs');
  if (!existsSync(probe)) writeFileSync(probe, probeSource);
  for (const [subpath, kinds] of entryPoints(pkg.manifest)) {
    const specifier = subpath === '.' ? name : `${name}/${normalize(subpath)}`;
    const required = requiredExports[specifier] ?? [];
    for (const kind of kinds) {
      // Only entries with required names are executed: other adapter entries import their test
      // framework, which only works inside that framework's own run.
      const mode = required.length > 0 ? 'load' : 'resolve';
      const result = run(process.execPath, [probe, kind, specifier, mode, required.join(',')], { cwd: folder });
      if (!result.ok) fail(name, `${kind}('${specifier}')`, result.output.split('\n')[0] || result.why);
      else pass(`${kind}('${specifier}')`, mode === 'load' ? `exposes ${required.join(', ')}` : 'resolves');
    }
  }

  for (const [command, target] of Object.entries(binEntries(pkg.manifest))) {
    if (!packed.files.includes(normalize(target))) {
      fail(
        name,
        `bin ${command}`,
        `package.json declares bin ${command} -> ${target}, but the tarball has no such file`,
      );
      continue;
    }
    const result = run(join(folder, 'node_modules', '.bin', command), ['--version'], { cwd: folder, timeout: 60_000 });
    if (!result.ok) fail(name, `${command} --version`, result.why, result.output);
    else if (!result.output.includes(pkg.manifest.version)) {
      fail(
        name,
        `${command} --version`,
        `printed "${result.output}", expected it to name version ${pkg.manifest.version}`,
      );
    } else pass(`${command} --version`, `→ ${result.output.split('\n')[0]}`);
  }
}

const packages = publishablePackages();
if (packages.length === 0) {
  console.error('check-packages: no publishable package found under packages/');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'mailhole-packages-'));
try {
  const tarballDir = join(work, 'tarballs');
  mkdirSync(tarballDir);
  const packedByName = new Map();
  for (const pkg of packages) {
    console.log(`\n${pkg.manifest.name}@${pkg.manifest.version} (${pkg.dir.slice(root.length + 1)})`);
    const packed = pack(pkg, tarballDir);
    if (!packed) continue;
    packedByName.set(pkg.manifest.name, packed);
    lint(pkg, packed.tarball);
  }

  const installDir = join(work, 'project');
  const tarballs = [...packedByName.values()].map((packed) => packed.tarball);
  if (tarballs.length > 0 && install(tarballs, installDir)) {
    for (const pkg of packages) {
      const packed = packedByName.get(pkg.manifest.name);
      if (!packed) continue;
      console.log(`\n${pkg.manifest.name}: installed with npm`);
      checkInstalled(pkg, packed, installDir);
    }
  }
} finally {
  if (process.env.MAILHOLE_KEEP_PACK) console.log(`\nkept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

console.log('');
if (failures.length > 0) {
  console.log(`check-packages: ${failures.length} problem(s):`);
  for (const failure of failures) console.log(`  - ${failure}`);
  process.exit(1);
}
console.log(`check-packages: ${packages.length} package(s) ok`);
