#!/usr/bin/env node
// The public API of every published entry point, as API Extractor reports it, committed under
// packages/<pkg>/api/ so that a change to what users can import shows in review.
//
//   node scripts/api-report.mjs            check: fails, naming the entry point, when a report differs
//   node scripts/api-report.mjs --update   rewrite the reports from the current build (pnpm api:update)
//
// It reads the built typings (run `pnpm build` first): for each package, every subpath of its
// `exports` map with a `types` file (the `import` condition's when there are two). Internals marked
// `@internal` are already stripped from those files (stripInternal). API Extractor bundles its own
// TypeScript (the classic compiler), so it reads the .d.ts that TypeScript 7 emits.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const update = process.argv.includes('--update');

/** Every published entry point: { pkg, dir, subpath, types, report }. */
export function entryPoints() {
  const out = [];
  const packages = join(root, 'packages');
  for (const name of readdirSync(packages).sort()) {
    const dir = join(packages, name);
    const manifestFile = join(dir, 'package.json');
    if (!existsSync(manifestFile)) continue;
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    if (manifest.private) continue;
    const unscoped = manifest.name.replace(/^@[^/]+\//, '');
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      const types = typesOf(target);
      if (types === undefined) continue;
      const suffix = subpath === '.' ? '' : `-${subpath.replace(/^\.\//, '').replace(/[^\w.-]+/g, '-')}`;
      out.push({ pkg: manifest.name, dir, subpath, types: join(dir, types), report: `${unscoped}${suffix}.api.md` });
    }
  }
  return out;
}

function typesOf(target) {
  if (typeof target !== 'object' || target === null) return undefined;
  if (typeof target.types === 'string') return target.types;
  return typesOf(target.import) ?? typesOf(target.default) ?? typesOf(target.require);
}

/** Renders the report of one entry point; returns its text. */
function render(entry, scratch) {
  const reportFolder = join(scratch, 'report');
  mkdirSync(reportFolder, { recursive: true });
  const config = ExtractorConfig.prepare({
    configObjectFullPath: join(entry.dir, 'api-extractor.json'),
    packageJsonFullPath: join(entry.dir, 'package.json'),
    configObject: {
      projectFolder: entry.dir,
      mainEntryPointFilePath: entry.types,
      compiler: {
        overrideTsconfig: {
          compilerOptions: {
            module: 'nodenext',
            moduleResolution: 'nodenext',
            types: ['node'],
            typeRoots: [join(root, 'node_modules', '@types')],
            skipLibCheck: true,
          },
          files: [entry.types],
        },
      },
      apiReport: {
        enabled: true,
        reportFileName: entry.report.replace(/\.api\.md$/, ''),
        reportFolder,
        reportTempFolder: join(scratch, 'temp'),
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        compilerMessageReporting: { default: { logLevel: 'error' } },
        // Release tags (@public) and TSDoc syntax are not this project's conventions; a type that is
        // reachable but not exported is still worth seeing, as a note in the report.
        extractorMessageReporting: {
          default: { logLevel: 'none' },
          'ae-forgotten-export': { logLevel: 'none', addToApiReportFile: true },
        },
        tsdocMessageReporting: { default: { logLevel: 'none' } },
      },
    },
  });
  const problems = [];
  const result = Extractor.invoke(config, {
    localBuild: true,
    showVerboseMessages: false,
    messageCallback: (message) => {
      if (message.logLevel === 'error') problems.push(message.formatMessageWithLocation(root));
      message.handled = true;
    },
  });
  if (!result.succeeded || problems.length > 0) {
    throw new Error(`API Extractor failed on ${relative(root, entry.types)}:\n${problems.join('\n')}`);
  }
  return readFileSync(join(reportFolder, entry.report), 'utf8');
}

function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'mailhole-api-'));
  const differ = [];
  try {
    const entries = entryPoints();
    for (const entry of entries) {
      if (!existsSync(entry.types)) {
        throw new Error(`${relative(root, entry.types)} is missing: run pnpm build first`);
      }
      const text = render(entry, join(scratch, entry.report));
      const file = join(entry.dir, 'api', entry.report);
      const label = `${entry.pkg}${entry.subpath === '.' ? '' : entry.subpath.slice(1)}`;
      const committed = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
      if (committed === text) {
        console.log(`  ok       ${label}  (${relative(root, file)})`);
      } else if (update) {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
        console.log(`  updated  ${label}  (${relative(root, file)})`);
      } else {
        differ.push(
          `${label}: ${relative(root, file)} ${committed === undefined ? 'does not exist' : 'differs from the built typings'}`,
        );
        console.log(`  DIFFERS  ${label}  (${relative(root, file)})`);
      }
    }
    // A report whose entry point is gone is stale too.
    const expected = new Set(entries.map((e) => join(e.dir, 'api', e.report)));
    for (const entry of new Set(entries.map((e) => e.dir))) {
      const folder = join(entry, 'api');
      if (!existsSync(folder)) continue;
      for (const name of readdirSync(folder)) {
        const file = join(folder, name);
        if (!name.endsWith('.api.md') || expected.has(file)) continue;
        if (update) {
          rmSync(file);
          console.log(`  removed  ${relative(root, file)}`);
        } else differ.push(`${relative(root, file)} reports an entry point that is no longer published`);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (differ.length > 0) {
    console.error(
      `\nThe public API changed:\n  ${differ.join('\n  ')}\n` +
        'If the change is intended, run `pnpm build && pnpm api:update` and commit the reports with it.',
    );
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
