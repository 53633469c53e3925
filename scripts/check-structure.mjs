#!/usr/bin/env node
// The shape of the source tree, checked: the import graph of packages/*/src has no circles and no
// arrow from a lower layer to a higher one (shared/DESIGN.md: protocol, tls < record < behaviour <
// server < control < root (start.ts, index.ts) < cli / adapter), and no source file is longer than MAX_LINES.
// Run: node scripts/check-structure.mjs (prints every finding, exits 1 on any). test/structure.test.ts
// runs the same checks in the suite.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const MAX_LINES = 450;

/** Layer rank of a folder of packages/core/src; files straight in src/ are the composition root. */
export const CORE_LAYERS = {
  protocol: 0,
  tls: 0,
  record: 1,
  behaviour: 2,
  server: 3,
  control: 4,
  '': 5,
  cli: 6,
  // The `@mailhole/core/adapter` entry: plumbing the Vitest, Jest and Playwright adapters share.
  adapter: 6,
};
/** Adapters sit above everything in core and reach it only through its published entry points. */
const ADAPTER_RANK = 7;

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full));
    else if (/\.(ts|tsx|mts|cts)$/.test(name) && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Every source file of packages/<pkg>/src, as paths relative to the repository root. */
export function sourceFiles() {
  const packages = join(ROOT, 'packages');
  const files = [];
  for (const pkg of readdirSync(packages)) {
    const src = join(packages, pkg, 'src');
    try {
      if (!statSync(src).isDirectory()) continue;
    } catch {
      continue;
    }
    files.push(...walk(src));
  }
  return files.map((f) => relative(ROOT, f).split(sep).join('/')).sort();
}

const IMPORT_RE =
  /(?:^|[^\w.$])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]|(?:^|[^\w.$])import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Module specifiers a file imports or re-exports (type-only ones included: they are arrows too). */
export function importsOf(text) {
  const stripped = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const specs = [];
  for (const m of stripped.matchAll(IMPORT_RE)) specs.push(m[1] ?? m[2]);
  return specs;
}

function resolveRelative(from, spec, known) {
  const base = join(dirname(from), spec).split(sep).join('/');
  const candidates = [
    base.replace(/\.(m|c)?js$/, '.$1ts'),
    base.replace(/\.js$/, '.ts'),
    `${base}.ts`,
    `${base}/index.ts`,
  ];
  return candidates.find((c) => known.has(c));
}

/** The graph: file -> [{ to, spec }] for relative imports; package imports kept as { pkg, spec }. */
export function importGraph(files = sourceFiles()) {
  const known = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const edges = [];
    for (const spec of importsOf(readFileSync(join(ROOT, file), 'utf8'))) {
      if (spec.startsWith('.')) {
        const to = resolveRelative(file, spec, known);
        edges.push({ to, spec });
      } else {
        edges.push({ pkg: spec, spec });
      }
    }
    graph.set(file, edges);
  }
  return graph;
}

/** Layer of a file: { pkg, rank, name } */
export function layerOf(file) {
  const [, pkg, , ...rest] = file.split('/');
  if (pkg !== 'core') return { pkg, rank: ADAPTER_RANK, name: `adapter ${pkg}` };
  const folder = rest.length > 1 ? rest[0] : '';
  const rank = CORE_LAYERS[folder];
  return { pkg, rank: rank ?? -1, name: folder === '' ? 'root' : folder };
}

/** Import circles (strongly connected components with more than one file, or a self-import). */
export function findCircles(graph) {
  let index = 0;
  const stack = [];
  const on = new Set();
  const idx = new Map();
  const low = new Map();
  const circles = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const { to } of graph.get(v) ?? []) {
      if (!to) continue;
      if (!idx.has(to)) {
        strong(to);
        low.set(v, Math.min(low.get(v), low.get(to)));
      } else if (on.has(to)) low.set(v, Math.min(low.get(v), idx.get(to)));
    }
    if (low.get(v) === idx.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        component.push(w);
      } while (w !== v);
      const selfLoop = (graph.get(v) ?? []).some((e) => e.to === v);
      if (component.length > 1 || selfLoop) circles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return circles;
}

/** Arrows that point from a lower layer up to a higher one, and adapters reaching into core's files. */
export function findWrongWayArrows(graph) {
  const wrong = [];
  for (const [from, edges] of graph) {
    const a = layerOf(from);
    for (const edge of edges) {
      if (edge.pkg) {
        if (edge.pkg.startsWith('@mailhole/') && a.pkg === 'core')
          wrong.push(`${from} imports ${edge.spec}: core must not import an adapter`);
        if (/^@mailhole\/core\/(src|dist)\b/.test(edge.pkg))
          wrong.push(`${from} imports ${edge.spec}: adapters use core's published entry points only`);
        continue;
      }
      if (!edge.to) {
        wrong.push(`${from} imports ${edge.spec}, which resolves to no source file`);
        continue;
      }
      const b = layerOf(edge.to);
      if (a.pkg !== b.pkg) wrong.push(`${from} imports ${edge.to} across packages by path`);
      else if (a.rank < 0 || b.rank < 0)
        wrong.push(`${from} -> ${edge.to}: a folder with no layer in scripts/check-structure.mjs`);
      else if (b.rank > a.rank) wrong.push(`${from} (${a.name}) imports ${edge.to} (${b.name}), a higher layer`);
    }
  }
  return wrong;
}

/** Source files over MAX_LINES lines. */
export function findLongFiles(files = sourceFiles(), max = MAX_LINES) {
  const long = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const lines = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
    if (lines > max) long.push({ file, lines });
  }
  return long;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const graph = importGraph();
  const circles = findCircles(graph);
  const wrong = findWrongWayArrows(graph);
  const long = findLongFiles();
  for (const c of circles) console.log(`circle: ${c.join(' <-> ')}`);
  for (const w of wrong) console.log(`wrong way: ${w}`);
  for (const l of long) console.log(`too long: ${l.file} has ${l.lines} lines (max ${MAX_LINES})`);
  const total = circles.length + wrong.length + long.length;
  console.log(total === 0 ? 'structure ok' : `${total} finding(s)`);
  process.exitCode = total === 0 ? 0 : 1;
}
