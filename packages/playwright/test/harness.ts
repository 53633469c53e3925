// Runs an example project with the real Playwright CLI, as a user would (from the project's folder,
// with its own playwright.config.ts), and reads back Playwright's JSON report.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const playwrightCli = join(dirname(require.resolve('@playwright/test/package.json')), 'cli.js');

/** One test's outcome in Playwright's JSON report. */
export interface ReportedTest {
  title: string;
  status: 'passed' | 'failed' | 'timedOut' | 'skipped' | 'interrupted';
  parallelIndex: number;
  error: string;
}

export interface PlaywrightRun {
  code: number | null;
  /** Everything Playwright printed, no colours. */
  output: string;
  tests: ReportedTest[];
}

interface JsonSuite {
  suites?: JsonSuite[];
  specs?: Array<{
    title: string;
    tests: Array<{
      results: Array<{ status: ReportedTest['status']; parallelIndex: number; error?: { message?: string } }>;
    }>;
  }>;
}

/**
 * Runs `playwright test` in the example `name` and waits for it to exit on its own; a run still
 * alive after 180 s is killed and fails the test.
 */
export async function runPlaywright(name: string, env: Record<string, string> = {}): Promise<PlaywrightRun> {
  const dir = await mkdtemp(join(tmpdir(), 'mailhole-playwright-run-'));
  const reportFile = join(dir, 'report.json');
  try {
    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      ...env,
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      CI: 'true',
      PLAYWRIGHT_JSON_OUTPUT_FILE: reportFile,
      PLAYWRIGHT_JSON_OUTPUT_NAME: reportFile,
    };
    // The run must find its sink by itself, never through variables this process happens to have.
    for (const key of Object.keys(childEnv)) if (key.startsWith('MAILHOLE_')) delete childEnv[key];
    const args = [playwrightCli, 'test', '--reporter=line,json', '--output', join(dir, 'results')];
    const { code, output } = await runIn(join(here, 'examples', name), args, childEnv);
    const report = await readFile(reportFile, 'utf8').then(
      (text) => JSON.parse(text) as { suites: JsonSuite[] },
      () => undefined,
    );
    if (report === undefined) throw new Error(`Playwright wrote no JSON report (exit code ${code}):\n${output}`);
    return { code, output, tests: flatten(report.suites) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function flatten(suites: JsonSuite[]): ReportedTest[] {
  return suites.flatMap((suite) => [
    ...(suite.specs ?? []).flatMap((spec) =>
      spec.tests.flatMap((t) =>
        t.results.map((r) => ({
          title: spec.title,
          status: r.status,
          parallelIndex: r.parallelIndex,
          // The report keeps the terminal colours of the message; a test reads the words.
          error: stripVTControlCharacters(r.error?.message ?? ''),
        })),
      ),
    ),
    ...flatten(suite.suites ?? []),
  ]);
}

function runIn(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const timeout = 180_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Playwright in ${cwd} did not exit within ${timeout} ms:\n${output}`));
    }, timeout);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run Playwright: ${error.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
