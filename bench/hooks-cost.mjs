// Cost of the stage decisions in the protocol state machine, with and without hooks, against a
// baseline build (e.g. main's), measured in one process, the variants interleaved round by round so
// the load of a shared machine hits them alike. CPU time per transaction (process.cpuUsage), median.
//
//   node bench/hooks-cost.mjs [--baseline <core package folder>] [--rounds 15] [--transactions 20000]
//
// Variants: baseline/no-policy, current/no-policy, baseline/sync-policy, current/sync-policy,
// current/sync-hooks (a hook at every stage, answering synchronously), current/async-hooks (the same
// hooks answering with a resolved promise: the slow path, for scale).

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: {
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '15' },
    transactions: { type: 'string', default: '20000' },
  },
});
const rounds = Number(flags.rounds);
const transactions = Number(flags.transactions);
const here = resolve(import.meta.dirname, '../packages/core');

async function load(folder) {
  const url = (p) => pathToFileURL(resolve(folder, 'dist/esm', p)).href;
  const { SmtpSession } = await import(url('protocol/session.js'));
  let HookPolicy;
  try {
    ({ HookPolicy } = await import(url('behaviour/hooks.js')));
  } catch {
    HookPolicy = undefined;
  }
  return { SmtpSession, HookPolicy };
}

const observer = {
  transactionStarted() {},
  recipient() {},
  messageWriter() {
    return undefined;
  },
  refused() {},
  faultFired() {},
};
let ids = 0;
const options = (policy) => ({
  hostname: 'bench.test',
  maxMessageSize: 64 * 1024 * 1024,
  maxCommandLineLength: 2048,
  maxDataLineLength: 1000,
  maxRecipients: 1000,
  maxInvalidCommands: 20,
  starttls: false,
  requireTls: false,
  lmtp: false,
  lenient: false,
  auth: undefined,
  policy,
  nextDeliveryId: () => String(++ids),
});
const connection = { id: 1, remoteAddress: '127.0.0.1', remotePort: 1, localPort: 2, listener: 'smtp' };
const body = `From: a@x.test\r\nTo: b@x.test\r\nSubject: bench\r\n\r\n${'Some text of a message line.\r\n'.repeat(30)}.\r\n`;
const one = Buffer.from(`MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n${body}`);
const hello = Buffer.from('EHLO client.test\r\n');

/** `transactions` transactions, 100 per session (pipelined), fed and drained as a connection would. */
function run(SmtpSession, policy) {
  let settledLater = 0;
  const start = process.cpuUsage();
  for (let done = 0; done < transactions; done += 100) {
    const session = new SmtpSession(options(policy), connection, observer);
    session.start();
    session.feed(hello);
    session.output.length = 0;
    for (let i = 0; i < 100; i++) {
      session.feed(one);
      for (const item of session.output) if (item.type === 'await') settledLater++;
      session.output.length = 0;
    }
  }
  const used = process.cpuUsage(start);
  return { ns: ((used.user + used.system) * 1000) / transactions, settledLater };
}

/** The async variant needs the event loop: settle each pending decision, then go on. */
async function runAsync(SmtpSession, policy) {
  const start = process.cpuUsage();
  for (let done = 0; done < transactions; done += 100) {
    const session = new SmtpSession(options(policy), connection, observer);
    const drain = async () => {
      for (;;) {
        const pending = session.output.find((o) => o.type === 'await');
        session.output.length = 0;
        if (pending === undefined) return;
        session.settle(await pending.decision);
      }
    };
    session.start();
    await drain();
    session.feed(hello);
    await drain();
    for (let i = 0; i < 100; i++) {
      session.feed(one);
      await drain();
    }
  }
  const used = process.cpuUsage(start);
  return { ns: ((used.user + used.system) * 1000) / transactions };
}

const current = await load(here);
const baseline = flags.baseline ? await load(resolve(flags.baseline)) : undefined;
const syncPolicy = { wantsHeaders: false, decide: () => undefined };
const hookFns = (answer) => ({
  connect: answer,
  helo: answer,
  mail: answer,
  rcpt: answer,
  data: answer,
  message: answer,
});
const variants = [
  ...(baseline ? [['baseline, no policy', () => run(baseline.SmtpSession, undefined)]] : []),
  ['current, no policy', () => run(current.SmtpSession, undefined)],
  ...(baseline ? [['baseline, sync policy', () => run(baseline.SmtpSession, syncPolicy)]] : []),
  ['current, sync policy', () => run(current.SmtpSession, syncPolicy)],
  [
    'current, sync hooks (every stage)',
    () =>
      run(
        current.SmtpSession,
        new current.HookPolicy(
          hookFns(() => undefined),
          () => {},
        ),
      ),
  ],
  [
    'current, sync hooks (every stage but message)',
    () => {
      const { message, ...rest } = hookFns(() => undefined);
      return run(current.SmtpSession, new current.HookPolicy(rest, () => {}));
    },
  ],
  [
    'current, async hooks (every stage)',
    () =>
      runAsync(
        current.SmtpSession,
        new current.HookPolicy(
          hookFns(async () => undefined),
          () => {},
        ),
      ),
  ],
];

const samples = new Map(variants.map(([name]) => [name, []]));
for (const [, fn] of variants) await fn(); // warm-up, unrecorded
for (let r = 0; r < rounds; r++) {
  // Rotate the order every round.
  for (let k = 0; k < variants.length; k++) {
    const [name, fn] = variants[(k + r) % variants.length];
    const result = await fn();
    if (result.settledLater > 0) throw new Error(`${name}: a synchronous variant produced pending decisions`);
    samples.get(name).push(result.ns);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const reference = median(samples.get(variants[0][0]));
console.log(
  `${transactions} transactions (EHLO once per 100, MAIL, 2 RCPT, DATA, 1.1 KB) x ${rounds} rounds, interleaved`,
);
console.log('| variant | CPU ns / transaction (median) | vs first |');
console.log('|---|---:|---:|');
for (const [name, xs] of samples) {
  const m = median(xs);
  console.log(`| ${name} | ${m.toFixed(0)} | ${(m / reference).toFixed(2)}x |`);
}
