#!/usr/bin/env node
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { RemoteError } from '../control/remote.js';
import { EXIT, exitCodes, UsageError } from './args.js';
import { mark, stats, wait } from './client.js';
import { runWorker } from './cluster.js';
import { serve } from './serve.js';

const HELP = `Usage: mailhole <command> [options]

An SMTP sink for tests: accepts mail, counts it, forgets it (or keeps what it is asked to keep).

Commands
  serve     run a sink and its control API (SMTP 127.0.0.1:2525, API 127.0.0.1:8025 by default)
  wait      wait until a running sink accepted N deliveries; exit 1 with a report if not
  stats     print the counters of a running sink
  mark      take a mark on a running sink, for wait --since-mark

Options
  -h, --help       show this help (mailhole <command> --help for a command's options)
  -v, --version    print the version

Examples
  mailhole serve
  mailhole wait --count 3 --timeout 30s
  mailhole stats --json

${exitCodes([
  [EXIT.ok, 'help or version printed'],
  [EXIT.usage, 'no command, or an unknown one'],
])}Each command's --help lists its own exit codes.
`;

function version(): string {
  // dist/esm/cli/main.js → the package's package.json, three folders up.
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      await serve(rest, version());
      return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
    case 'wait':
      return wait(rest);
    case 'stats':
      return stats(rest);
    case 'mark':
      return mark(rest);
    case '-v':
    case '--version':
      process.stdout.write(`${version()}\n`);
      return EXIT.ok;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP);
      return command === undefined ? EXIT.usage : EXIT.ok;
    default:
      throw new UsageError(
        `mailhole: unknown command ${JSON.stringify(command)}; the commands are serve, wait, stats and mark (mailhole --help)`,
      );
  }
}

// `mailhole stats | head -1` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

if (cluster.isWorker && process.env.MAILHOLE_WORKER === '1') {
  runWorker();
} else {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`${error.message}\n`);
        process.exitCode = EXIT.usage;
      } else if (error instanceof RemoteError) {
        process.stderr.write(`mailhole: ${error.message}\n`);
        process.exitCode = EXIT.unreachable;
      } else {
        process.stderr.write(`mailhole: ${(error as Error)?.message ?? String(error)}\n`);
        process.exitCode = EXIT.failed;
      }
    },
  );
}
