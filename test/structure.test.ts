import { describe, expect, it } from 'vitest';
import * as structure from '../scripts/check-structure.mjs';

interface Edge {
  to?: string;
  pkg?: string;
  spec: string;
}
const { findCircles, findLongFiles, findWrongWayArrows, importGraph, importsOf, layerOf, MAX_LINES } = structure as {
  findLongFiles(): Array<{ file: string; lines: number }>;
  MAX_LINES: number;
  findCircles(graph: Map<string, Edge[]>): string[][];
  findWrongWayArrows(graph: Map<string, Edge[]>): string[];
  importGraph(files?: string[]): Map<string, Edge[]>;
  importsOf(text: string): string[];
  layerOf(file: string): { pkg: string; rank: number; name: string };
};

describe('the source tree keeps the layering of DESIGN.md', () => {
  const graph = importGraph();

  it('reads every import form: static, type-only, re-export and dynamic', () => {
    const text = [
      "import a from './a.js';",
      "import type { B } from './b.js';",
      "export { c } from './c.js';",
      "export * from './d.js';",
      "import './e.js';",
      "const f = await import('./f.js');",
      "// import { no } from './commented.js';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['./a.js', './b.js', './c.js', './d.js', './e.js', './f.js']);
  });

  it('sees the whole tree: every package, every folder of core placed in a layer', () => {
    const files = [...graph.keys()];
    expect(files.some((f) => f.startsWith('packages/core/src/protocol/'))).toBe(true);
    expect(files.some((f) => f.startsWith('packages/vitest/src/'))).toBe(true);
    expect(files.some((f) => f.startsWith('packages/jest/src/'))).toBe(true);
    // Nested folders sit in their top folder's layer: the web inbox (control/inbox, its browser code in ui/) is control.
    const inbox = files.filter((f) => f.startsWith('packages/core/src/control/inbox/'));
    expect(inbox.some((f) => f.startsWith('packages/core/src/control/inbox/ui/'))).toBe(true);
    expect(new Set(inbox.map((f) => layerOf(f).name))).toEqual(new Set(['control']));
    const unplaced = files.filter((f) => layerOf(f).rank < 0);
    expect(unplaced, 'folders with no layer: add them to CORE_LAYERS in scripts/check-structure.mjs').toEqual([]);
  });

  it('finds a circle and a wrong-way arrow when there is one (the check can fail)', () => {
    const made = new Map<string, Edge[]>([
      ['packages/core/src/record/a.ts', [{ to: 'packages/core/src/record/b.ts', spec: './b.js' }]],
      ['packages/core/src/record/b.ts', [{ to: 'packages/core/src/record/a.ts', spec: './a.js' }]],
      ['packages/core/src/server/s.ts', [{ to: 'packages/core/src/control/c.ts', spec: '../control/c.js' }]],
      ['packages/core/src/control/c.ts', []],
    ]);
    expect(findCircles(made)).toEqual([['packages/core/src/record/a.ts', 'packages/core/src/record/b.ts']]);
    expect(findWrongWayArrows(made)).toEqual([
      'packages/core/src/server/s.ts (server) imports packages/core/src/control/c.ts (control), a higher layer',
    ]);
  });

  it('has no import circles in packages/*/src', () => {
    expect(findCircles(graph)).toEqual([]);
  });

  it('has no import from a lower layer to a higher one (protocol, tls < record < behaviour < server < control < root < cli / adapters)', () => {
    expect(findWrongWayArrows(graph)).toEqual([]);
  });

  it('has no source file in packages/*/src over 450 lines: one concept a file', () => {
    expect(MAX_LINES).toBe(450);
    expect(findLongFiles(), 'split these along their concepts (see README, Layout)').toEqual([]);
  });
});
