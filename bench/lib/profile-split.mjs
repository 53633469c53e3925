#!/usr/bin/env node
// Splits a .cpuprofile's busy samples into mailhole's code, Node's JavaScript, native calls, GC and the rest.
// Usage: node bench/lib/profile-split.mjs <file.cpuprofile>
import { readFileSync } from 'node:fs';

const profile = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const groups = new Map();
let busy = 0;
for (const id of profile.samples) {
  const { functionName: name, url } = byId.get(id).callFrame;
  if (name === '(idle)') continue;
  busy++;
  const group = url.includes('/packages/core/')
    ? 'mailhole'
    : url.startsWith('node:')
      ? 'node (JavaScript)'
      : name === '(garbage collector)'
        ? 'garbage collector'
        : url === ''
          ? `native: ${name}`
          : 'other JavaScript';
  groups.set(group, (groups.get(group) ?? 0) + 1);
}
for (const [group, n] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  console.log(`${((n / busy) * 100).toFixed(1).padStart(5)}%  ${group}`);
}
