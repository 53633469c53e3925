// Runs an example project with the real Jest CLI, as a user would (from the project's folder, with
// its own jest.config.js), and reads back Jest's JSON report.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const jestBin = join(dirname(require.resolve('jest/package.json')), 'bin', 'jest.js');

/** The folder of an example project. */
export function example(name: string): string {
  return join(here, 'examples', name);
}

/** One test of Jest's JSON report. */
export interface AssertionResult {
  title: string;
  fullName: string;
  ancestorTitles: string[];
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo' | 'disabled' | 'focused';
  failureMessages: string[];
}

/** Jest's `--json` report. */
export interface JsonReport {
  success: boolean;
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numFailedTestSuites: number;
  numRuntimeErrorTestSuites: number;
  testResults: Array<{ name: string; status: string; message: string; assertionResults: AssertionResult[] }>;
}

export interface JestRun {
  code: number | null;
  /** Everything Jest printed (its reporters write to stderr), no colours. */
  output: string;
  report: JsonReport;
}

export interface JestRunOptions {
  /** Run Jest under `node --experimental-vm-modules` (native ES modules). */
  esm?: boolean;
  /** Extra environment variables for the run. */
  env?: Record<string, string>;
}

/**
 * Runs Jest in an example project and waits for it to exit on its own. A run still alive after
 * 120 s is killed and fails the test: nothing we start may keep Jest from exiting.
 *
 * @example const { report, output } = await runJest('environment', ['--detectOpenHandles']);
 */
export async function runJest(
  name: string,
  args: readonly string[] = [],
  options: JestRunOptions = {},
): Promise<JestRun> {
  const { code, output, report } = await runJestRaw(name, args, options);
  if (report === undefined) throw new Error(`Jest wrote no JSON report (exit code ${code}):\n${output}`);
  return { code, output, report };
}

/** Like `runJest`, for runs that end before Jest writes its report (a failing globalSetup). */
export async function runJestRaw(
  name: string,
  args: readonly string[] = [],
  options: JestRunOptions = {},
): Promise<{ code: number | null; output: string; report: JsonReport | undefined }> {
  const dir = await mkdtemp(join(tmpdir(), 'mailhole-jest-run-'));
  const outputFile = join(dir, 'report.json');
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: 'true' };
    // The run must find its sinks by itself, never through variables this process happens to have.
    for (const key of Object.keys(env)) if (key.startsWith('MAILHOLE_') && !options.env?.[key]) delete env[key];
    const nodeArgs = options.esm ? ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'] : [];
    const child = await runIn(
      example(name),
      process.execPath,
      [
        ...nodeArgs,
        jestBin,
        '--json',
        '--outputFile',
        outputFile,
        // A fresh cache each run: once Jest has timings saying a project's tests are fast, it runs
        // them in band whatever -w says, and the shared-sink example needs its three workers at once.
        '--cacheDirectory',
        join(dir, 'cache'),
        ...args,
      ],
      env,
    );
    const report = await readFile(outputFile, 'utf8').then(
      (text) => JSON.parse(text) as JsonReport,
      () => undefined,
    );
    return { code: child.code, output: `${child.stdout}\n${child.stderr}`, report };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Like test/support/child.ts's run(), in a given folder: Jest must start in the example's own folder.
function runIn(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  const timeout = 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Jest in ${cwd} did not exit within ${timeout} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeout);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${error.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The test of the report with this title (fails the calling test when there is none). */
export function result(report: JsonReport, title: string): AssertionResult {
  const all = report.testResults.flatMap((file) => file.assertionResults);
  const found = all.find((r) => r.title === title);
  if (found === undefined) {
    throw new Error(
      `no test titled ${JSON.stringify(title)} in the report; tests: ${all.map((r) => r.title).join(' | ')}`,
    );
  }
  return found;
}

/** What Jest prints when something we started outlives the run. */
export const LEFTOVER_WARNINGS = [
  /did not exit one second after the test run has completed/,
  /open handles? potentially keeping Jest from exiting/,
  /worker process has failed to exit gracefully/,
  /Cannot log after tests are done/,
];

/** Each leftover warning found in Jest's output (an empty list is what a test expects). */
export function leftovers(output: string): string[] {
  return LEFTOVER_WARNINGS.filter((pattern) => pattern.test(output)).map(String);
}
