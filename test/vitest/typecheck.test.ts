import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runner } from './harness.js';

function tsc(project: string): Promise<{ code: number | null; output: string }> {
  const bin = join(dirname(runner.typescript), 'bin', 'tsc');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '-p', project], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe(`the typings, checked against ${runner.label}`, { timeout: 180_000 }, () => {
  it('type-check every example project, the expected type errors included', async () => {
    const { code, output } = await tsc(join(runner.examples, 'tsconfig.json'));
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});
