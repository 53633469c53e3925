import { markToken } from '../control/query.js';
import { connectSink, type RemoteSink } from '../control/remote.js';
import { type DeliveryFilter, describeRecord } from '../record/recorder.js';
import { WaitTimeoutError } from '../record/wait.js';
import { parseCommand, parseCount, parseDuration, UsageError } from './args.js';

const DEFAULT_API = 'http://127.0.0.1:8025';

const API_FLAGS = {
  api: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const API_HELP = `  --api URL             control API of the sink (default: $MAILHOLE_API_URL or ${DEFAULT_API})
  --token TOKEN         bearer token, when the sink has one (default: $MAILHOLE_API_TOKEN)`;

export const WAIT_HELP = `Usage: mailhole wait [options]

Waits until a running sink (mailhole serve) has accepted COUNT deliveries, optionally only those
to or from an address. Exits 0 when they arrived; otherwise exits 1 and prints what did arrive.
Made for CI: start \`mailhole serve\`, run the code that sends, then \`mailhole wait\`.

Options
${API_HELP}
  --count N             deliveries to wait for (default 1)
  --timeout DURATION    how long to wait, e.g. 30s, 500ms, 2m (default 30s)
  --to ADDR             count only deliveries to this envelope recipient
  --from ADDR           count only deliveries from this envelope sender
  --subject TEXT        count only deliveries whose subject contains TEXT (needs --capture full)
  --since-mark          count only deliveries after the last \`mailhole mark\`
  --since TOKEN         count only deliveries after this mark (as \`mailhole mark\` prints it)
  --json                print the deliveries as JSON on success
  -h, --help            show this help

Examples
  mailhole wait --count 3 --timeout 30s
  mailhole wait --api http://127.0.0.1:8025 --to alice@example.test --timeout 10s
  mailhole mark && ./send-newsletter.sh && mailhole wait --since-mark --count 100 --timeout 1m
`;

export const STATS_HELP = `Usage: mailhole stats [options]

Prints the counters of a running sink (mailhole serve).

Options
${API_HELP}
  --json                print the counters as JSON
  -h, --help            show this help

Examples
  mailhole stats
  mailhole stats --api http://127.0.0.1:8025 --json | jq .accepted
`;

export const MARK_HELP = `Usage: mailhole mark [options]

Takes a mark on a running sink: \`mailhole wait --since-mark\` then counts only what arrives after
it. Prints the mark's token (for \`mailhole wait --since TOKEN\`).

Options
${API_HELP}
  -h, --help            show this help

Example
  mailhole mark && ./run-the-job.sh && mailhole wait --since-mark --count 1
`;

function connect(flags: { api?: string | undefined; token?: string | undefined }): Promise<RemoteSink> {
  const url = flags.api ?? process.env.MAILHOLE_API_URL ?? DEFAULT_API;
  const token = flags.token ?? process.env.MAILHOLE_API_TOKEN;
  return connectSink(url, token ? { token } : {});
}

/** `mailhole wait`: returns the exit code. */
export async function wait(args: string[]): Promise<number> {
  const flags = parseCommand('wait', args, {
    ...API_FLAGS,
    count: { type: 'string' },
    timeout: { type: 'string' },
    to: { type: 'string' },
    from: { type: 'string' },
    subject: { type: 'string' },
    'since-mark': { type: 'boolean' },
    since: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (flags.help) {
    process.stdout.write(WAIT_HELP);
    return 0;
  }
  const count = flags.count === undefined ? 1 : parseCount(flags.count, '--count');
  const timeout = flags.timeout === undefined ? 30_000 : parseDuration(flags.timeout, '--timeout');
  if (flags['since-mark'] && flags.since !== undefined)
    throw new UsageError('mailhole wait: give --since-mark or --since, not both');
  const sink = await connect(flags);
  const filter: DeliveryFilter = {};
  if (flags.to !== undefined) filter.to = flags.to;
  if (flags.from !== undefined) filter.from = flags.from;
  if (flags.subject !== undefined) filter.subject = flags.subject;
  let since = flags.since;
  if (flags['since-mark']) since = 'last';
  if (since !== undefined && since !== 'last' && !/^\d+:\d+$/.test(since)) {
    throw new UsageError(
      `--since must be a mark token such as 12:10 (as mailhole mark prints it), got ${JSON.stringify(since)}`,
    );
  }
  const filtered = Object.keys(filter).length > 0;
  try {
    const deliveries = await sink.waitForQuery(filter, count, timeout, since);
    if (flags.json) process.stdout.write(`${JSON.stringify(deliveries, null, 2)}\n`);
    else {
      const noun = count === 1 ? 'delivery' : 'deliveries';
      const what = filtered ? `matching ${noun} (${JSON.stringify(filter)})` : noun;
      process.stdout.write(`mailhole wait: ${count} ${what} arrived at ${sink.url}\n`);
      for (const d of deliveries) process.stdout.write(`  ${describeRecord(d)}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof WaitTimeoutError) {
      process.stderr.write(`mailhole wait: ${error.message.replace(/^waitFor /, '')}\n`);
      return 1;
    }
    throw error;
  }
}

/** `mailhole stats`: returns the exit code. */
export async function stats(args: string[]): Promise<number> {
  const flags = parseCommand('stats', args, { ...API_FLAGS, json: { type: 'boolean' } });
  if (flags.help) {
    process.stdout.write(STATS_HELP);
    return 0;
  }
  const sink = await connect(flags);
  const counters = await sink.stats();
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(counters, null, 2)}\n`);
    return 0;
  }
  const width = Math.max(...Object.keys(counters).map((k) => k.length));
  process.stdout.write(`${sink.url} (control API ${sink.apiUrl})\n`);
  for (const [key, value] of Object.entries(counters)) process.stdout.write(`  ${key.padEnd(width)}  ${value}\n`);
  return 0;
}

/** `mailhole mark`: returns the exit code. */
export async function mark(args: string[]): Promise<number> {
  const flags = parseCommand('mark', args, API_FLAGS);
  if (flags.help) {
    process.stdout.write(MARK_HELP);
    return 0;
  }
  const sink = await connect(flags);
  process.stdout.write(`${markToken(await sink.takeMark())}\n`);
  return 0;
}
