#!/usr/bin/env node
// Prints the functions with the most self time in a V8 .cpuprofile (from `node --cpu-prof`).
// Usage: node bench/lib/profile-top.mjs <file.cpuprofile> [count]
import { readFileSync } from 'node:fs';

const [file, count = '30'] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node bench/lib/profile-top.mjs <file.cpuprofile> [count]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const ticks = new Map();
for (const id of profile.samples) ticks.set(id, (ticks.get(id) ?? 0) + 1);
const self = new Map();
let total = 0;
for (const [id, n] of ticks) {
  const { callFrame: f } = byId.get(id);
  const where = f.url ? `${f.url.replace(/^file:\/\/.*?\/(packages|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
  const key = `${f.functionName || '(anonymous)'} ${where}`;
  self.set(key, (self.get(key) ?? 0) + n);
  total += n;
}
const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((s, [, n]) => s + n, 0);
console.log(`${total} samples, ${(((total - idle) / total) * 100).toFixed(1)}% busy; self time of busy samples:`);
for (const [key, n] of [...self]
  .filter(([k]) => !k.startsWith('(idle)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(count))) {
  console.log(`${((n / (total - idle)) * 100).toFixed(1).padStart(5)}%  ${key}`);
}
