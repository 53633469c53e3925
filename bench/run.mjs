#!/usr/bin/env node
// The side-by-side benchmark suite (issue #8): mailhole next to Postfix's smtp-sink (the C reference)
// and nodemailer's smtp-server, in one run, alternating, with medians over several runs.
//
//   pnpm bench                                  # builds, then runs every scenario (about 4 minutes)
//   node bench/run.mjs --quick                  # fewer messages and runs (about 1 minute)
//   node bench/run.mjs --only reused,pipelining # some scenarios (ids in bench/README.md)
//   node bench/run.mjs --runs 7 --profile       # more runs; CPU profiles of the mailhole servers
//   node bench/run.mjs --out /tmp/bench         # write the results elsewhere (default bench/results/latest)
//   node bench/run.mjs --baseline /tmp/core-old # also run another build of @mailhole/core (a copy of
//                                               # packages/core with dist/ and node_modules/) as "mailhole (baseline)"
//
// Results: bench/results/latest.md (tables) and latest.json (every sample). Numbers are printed and
// recorded, never asserted: they depend on the machine and on what else runs on it.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAverage, machine } from './lib/machine.mjs';
import { lastJson, run, startHolding } from './lib/process.mjs';
import { renderMarkdown } from './lib/report.mjs';
import { startMailholeServe, startNodeServer, startSmtpSink } from './lib/servers.mjs';
import { median, ratio, round, sleep } from './lib/stats.mjs';
import { ensureTools, tools } from './lib/tools.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    runs: { type: 'string' },
    profile: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    out: { type: 'string', default: join(here, 'results', 'latest') },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  console.log(
    'usage: node bench/run.mjs [--quick] [--only id,id] [--runs N] [--profile] [--baseline <core package folder>] [--out path-without-extension]',
  );
  process.exit(0);
}

const quick = flags.quick;
const RUNS = flags.runs === undefined ? (quick ? 2 : 5) : Number(flags.runs);
// Profiles stay out of the repository.
const profileDir = join(tmpdir(), 'mailhole-bench-profiles');
const loadClient = join(here, 'clients', 'load-client.mjs');
const tlsClient = join(here, 'clients', 'tls-client.mjs');
const idleClient = join(here, 'clients', 'idle-client.mjs');
const IDLE_CONNECTIONS = quick ? 2000 : 10_000;
const FILES = IDLE_CONNECTIONS + 2000;

const log = (...parts) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...parts);

// --- servers ------------------------------------------------------------------------------------

const mailholeExecArgv = () => (flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
const serverSpecs = {
  'smtp-sink': { label: 'smtp-sink (Postfix, C)', start: (o = {}) => startSmtpSink(o) },
  mailhole: {
    label: 'mailhole',
    start: (o = {}) =>
      startNodeServer(
        'mailhole',
        { kind: 'mailhole', options: { maxConnections: FILES, ...o.options } },
        {
          execArgv: mailholeExecArgv(),
          files: o.files,
        },
      ),
  },
  'mailhole-count': {
    label: "mailhole (capture: 'count')",
    start: (o = {}) =>
      startNodeServer(
        'mailhole-count',
        { kind: 'mailhole', options: { capture: 'count', maxConnections: FILES, ...o.options } },
        { execArgv: mailholeExecArgv(), files: o.files },
      ),
  },
  'mailhole-baseline': {
    label: 'mailhole (baseline)',
    start: (o = {}) =>
      startNodeServer(
        'mailhole-baseline',
        { kind: 'mailhole', options: { maxConnections: FILES, ...o.options } },
        {
          files: o.files,
          env: { BENCH_MAILHOLE_CORE: flags.baseline },
        },
      ),
  },
  'smtp-server': {
    label: 'smtp-server (nodemailer)',
    start: (o = {}) => startNodeServer('smtp-server', { kind: 'smtp-server', ...o.config }, { files: o.files }),
  },
};

// --- the throughput comparison, shared by most scenarios --------------------------------------------

/**
 * Runs each entry's client against its server, `RUNS` times, rotating the order every run so that
 * every server gets the same share of good and bad moments. An entry: { id, label, server (a started
 * handle), client(port) → { command, args }, and optionally its own units (messages or sessions per run,
 * for a server too slow to take the full count in reasonable time) }.
 * For Node servers the accepted count must grow by exactly the units per run: the counting is checked too.
 */
async function alternate(entries, { reference, units, unitName = 'message' }) {
  const samples = Object.fromEntries(entries.map((e) => [e.id, []]));
  const failures = [];
  // One unrecorded run each first: the Node servers' code gets optimised before anything counts.
  for (const entry of entries) {
    const { command, args } = entry.client(entry.server.port);
    const warm = await run(command, args);
    if (warm.code !== 0)
      failures.push(`${entry.label}, warm-up: exit ${warm.code}: ${(warm.stderr || warm.stdout).trim().slice(0, 300)}`);
  }
  for (let r = 0; r < RUNS; r++) {
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[(r + k) % entries.length];
      const { server } = entry;
      const acceptedBefore = server.stats ? (await server.stats()).accepted : undefined;
      const cpuBefore = server.cpuMs();
      const { command, args } = entry.client(server.port);
      const result = await run(command, args);
      const cpuAfter = server.cpuMs();
      let elapsedMs = result.wallMs;
      if (result.stdout.trim().startsWith('{')) elapsedMs = lastJson(result.stdout).elapsedMs ?? elapsedMs;
      if (result.code !== 0) {
        failures.push(
          `${entry.label}, run ${r + 1}: exit ${result.code}: ${(result.stderr || result.stdout).trim().slice(0, 300)}`,
        );
        continue;
      }
      if (acceptedBefore !== undefined) {
        const delta = (await server.stats()).accepted - acceptedBefore;
        const expected = entry.units ?? units;
        if (delta !== expected) {
          failures.push(`${entry.label}, run ${r + 1}: the server counted ${delta} of ${expected} ${unitName}s`);
        }
      }
      const serverCpuMs = cpuAfter.total - cpuBefore.total;
      samples[entry.id].push({ elapsedMs, serverCpuMs, serverUserCpuMs: cpuAfter.user - cpuBefore.user });
      log(`  ${entry.label}: ${(elapsedMs / 1000).toFixed(2)} s, server CPU ${serverCpuMs.toFixed(0)} ms`);
    }
  }
  const results = entries.map((entry) => {
    const list = samples[entry.id];
    const count = entry.units ?? units;
    const elapsedMs = median(list.map((s) => s.elapsedMs));
    const cpuMs = median(list.map((s) => s.serverCpuMs));
    const userMs = median(list.map((s) => s.serverUserCpuMs));
    return {
      id: entry.id,
      label: entry.label,
      runs: list.length,
      medianMs: round(elapsedMs, 1),
      ...(count !== units ? { units: count } : {}),
      perSecond: round((count * 1000) / elapsedMs, 0),
      serverCpuUsPerUnit: round((cpuMs * 1000) / count, 2),
      serverUserCpuUsPerUnit: round((userMs * 1000) / count, 2),
      samples: list.map((s) => ({
        elapsedMs: round(s.elapsedMs, 1),
        serverCpuMs: round(s.serverCpuMs, 0),
        serverUserCpuMs: round(s.serverUserCpuMs, 0),
      })),
    };
  });
  const ref = results.find((r) => r.id === reference);
  for (const r of results) {
    r.throughputVsReference = round(ratio(r.perSecond, ref?.perSecond), 3);
    r.cpuVsReference = round(ratio(r.serverCpuUsPerUnit, ref?.serverCpuUsPerUnit), 3);
  }
  return { units, unitName, reference, results, failures };
}

/** Starts the named servers, runs `body` with them, and always stops them. */
async function withServers(ids, options, body) {
  const started = {};
  try {
    for (const id of ids) started[id] = await serverSpecs[id].start(options[id] ?? {});
    return await body(started);
  } finally {
    for (const server of Object.values(started)) await server.stop();
  }
}

const smtpSource = (args) => (port) => ({
  command: tools.smtpSource,
  args: [...args, '-f', 'source@client.test', '-t', 'sink@sink.test', '-M', 'client.test', `127.0.0.1:${port}`],
});
const nodeClient = (file, args) => (port) => ({
  command: process.execPath,
  args: [file, '--port', String(port), ...args],
});

/** A scenario that runs one client against several servers, alternating. */
function throughputScenario({
  id,
  title,
  what,
  servers,
  client,
  units,
  needs = [],
  serverOptions = {},
  notes = [],
  clientFor = {},
}) {
  return {
    id,
    title,
    needs,
    async run() {
      if (flags.baseline && servers.includes('mailhole')) {
        servers = [...servers];
        servers.splice(servers.indexOf('mailhole') + 1, 0, 'mailhole-baseline');
      }
      return withServers(servers, serverOptions, async (started) => {
        const entries = servers.map((s) => ({
          id: s,
          label: serverSpecs[s].label,
          server: started[s],
          client,
          ...clientFor[s],
        }));
        const result = await alternate(entries, { reference: servers[0], units });
        return { what, notes, ...result };
      });
    },
  };
}

// --- scenarios ---------------------------------------------------------------------------------------

const n = (full, short) => (quick ? short : full);
const reusedArgs = ['-d', '-s', '20', '-m', String(n(20_000, 5000)), '-l', '1000'];
const pipeliningArgs = [
  '--mode',
  'pipelining',
  '--connections',
  '20',
  '--messages',
  String(n(20_000, 5000)),
  '--size',
  '1000',
];

const scenarios = [
  throughputScenario({
    id: 'reused',
    title: 'Reused connections',
    what: `smtp-source ${reusedArgs.join(' ')}: 1 KB messages over 20 connections kept open, one command at a time`,
    servers: ['smtp-sink', 'mailhole', 'mailhole-count', 'smtp-server'],
    client: smtpSource(reusedArgs),
    units: n(20_000, 5000),
    needs: ['smtpSource', 'smtpSink', 'smtpServer'],
  }),
  throughputScenario({
    id: 'new-connection',
    title: 'A new connection per message',
    what: `smtp-source -s 20 -m ${n(5000, 1000)} -l 1000: connect, EHLO, one message, QUIT, for every message`,
    servers: ['smtp-sink', 'mailhole', 'smtp-server'],
    client: smtpSource(['-s', '20', '-m', String(n(5000, 1000)), '-l', '1000']),
    units: n(5000, 1000),
    // smtp-server waits 100 ms before every greeting: the full count would take minutes.
    clientFor: {
      'smtp-server': { client: smtpSource(['-s', '20', '-m', String(n(500, 100)), '-l', '1000']), units: n(500, 100) },
    },
    notes: [
      'smtp-server waits 100 ms before each greeting, so it gets a tenth of the messages (same 20 connections at a time).',
    ],
    needs: ['smtpSource', 'smtpSink', 'smtpServer'],
  }),
  throughputScenario({
    id: 'large',
    title: '100 KB messages',
    what: `smtp-source -d -s 20 -m ${n(2000, 500)} -l 102400: 100 KB messages over 20 reused connections`,
    servers: ['smtp-sink', 'mailhole', 'smtp-server'],
    client: smtpSource(['-d', '-s', '20', '-m', String(n(2000, 500)), '-l', '102400']),
    units: n(2000, 500),
    needs: ['smtpSource', 'smtpSink', 'smtpServer'],
  }),
  throughputScenario({
    id: 'recipients',
    title: '10 recipients per message',
    what: `smtp-source -d -s 20 -m ${n(10_000, 2000)} -l 1000 -r 10: ten RCPT TO per message, reused connections`,
    servers: ['smtp-sink', 'mailhole', 'smtp-server'],
    client: smtpSource(['-d', '-s', '20', '-m', String(n(10_000, 2000)), '-l', '1000', '-r', '10']),
    units: n(10_000, 2000),
    needs: ['smtpSource', 'smtpSink', 'smtpServer'],
  }),
  throughputScenario({
    id: 'pipelining',
    title: 'A pipelining client',
    what: `bench/clients/load-client.mjs ${pipeliningArgs.join(' ')}: MAIL, RCPT and DATA in one write, then the message, its end and the next group in one write (RFC 2920)`,
    servers: ['smtp-sink', 'mailhole', 'smtp-server'],
    client: nodeClient(loadClient, pipeliningArgs),
    units: n(20_000, 5000),
    needs: ['smtpSink', 'smtpServer'],
  }),
  {
    id: 'bdat',
    title: 'A BDAT client',
    needs: [],
    async run() {
      return withServers(['mailhole'], {}, async ({ mailhole }) => {
        const messages = n(20_000, 5000);
        const common = ['--connections', '20', '--messages', String(messages), '--size', '1000'];
        const entries = [
          {
            id: 'mailhole-bdat',
            label: 'mailhole, BDAT LAST',
            server: mailhole,
            client: nodeClient(loadClient, ['--mode', 'bdat', ...common]),
          },
          {
            id: 'mailhole-bdat-chunks',
            label: 'mailhole, BDAT in 256-octet chunks',
            server: mailhole,
            client: nodeClient(loadClient, ['--mode', 'bdat', '--chunk', '256', ...common]),
          },
          {
            id: 'mailhole-data',
            label: 'mailhole, pipelined DATA (same client)',
            server: mailhole,
            client: nodeClient(loadClient, ['--mode', 'pipelining', ...common]),
          },
        ];
        const result = await alternate(entries, { reference: 'mailhole-data', units: messages });
        return {
          what: `bench/clients/load-client.mjs --mode bdat --connections 20 --messages ${messages} --size 1000: MAIL, RCPT and the message as BDAT chunks in one write (RFC 3030)`,
          notes: [
            'Neither smtp-sink (Postfix 3.7) nor smtp-server advertises CHUNKING, so BDAT is measured against mailhole itself with pipelined DATA from the same client.',
          ],
          ...result,
        };
      });
    },
  },
  {
    id: 'starttls',
    title: 'STARTTLS sessions',
    needs: ['smtpServer', 'nodemailer'],
    async run() {
      const { testCertificate } = await import('@mailhole/core');
      const certificate = await testCertificate();
      const caFile = (id) => join(tmpdir(), `mailhole-bench-${process.pid}-${id}-ca.pem`);
      writeFileSync(caFile('smtp-server'), certificate.ca);
      const sessions = n(300, 100);
      const options = {
        mailhole: { options: { tls: 'starttls' } },
        'smtp-server': { config: { tls: { key: certificate.key, cert: certificate.cert } } },
      };
      try {
        return await withServers(['mailhole', 'smtp-server'], options, async (started) => {
          // Each process makes its own test CA: the mailhole child tells its own.
          writeFileSync(caFile('mailhole'), started.mailhole.ca);
          const entries = ['mailhole', 'smtp-server'].map((id) => ({
            id,
            label: serverSpecs[id].label,
            server: started[id],
            client: nodeClient(tlsClient, [
              '--ca-file',
              caFile(id),
              '--sessions',
              String(sessions),
              '--concurrency',
              '10',
            ]),
          }));
          const result = await alternate(entries, { reference: 'mailhole', units: sessions, unitName: 'session' });
          return {
            what: `bench/clients/tls-client.mjs --sessions ${sessions} --concurrency 10: nodemailer with requireTLS and certificate verification on, a new connection and TLS handshake per message`,
            notes: [
              "smtp-sink has no TLS. smtp-server presents a certificate made by mailhole's testCertificate(), so the client verifies both servers.",
              'Most of the time is the TLS handshake, paid by client and server alike.',
            ],
            ...result,
          };
        });
      } finally {
        for (const id of ['mailhole', 'smtp-server']) rmSync(caFile(id), { force: true });
      }
    },
  },
  {
    id: 'per-test',
    title: 'Per-test cost: fresh sink + one nodemailer send + close',
    needs: ['smtpSink', 'smtpServer', 'nodemailer'],
    async run() {
      const sink = await startSmtpSink();
      try {
        const args = [
          join(here, 'scenarios', 'per-test.mjs'),
          ...['--sink-port', String(sink.port), '--rounds', String(n(300, 60)), '--server-rounds', String(n(30, 5))],
        ];
        const result = await run(process.execPath, args, {
          env: flags.baseline ? { BENCH_MAILHOLE_BASELINE: flags.baseline } : {},
        });
        if (result.code !== 0) throw new Error(`per-test.mjs failed: ${result.stderr.slice(0, 500)}`);
        const t = lastJson(result.stdout);
        const floor = t.runningSmtpSink.medianMs;
        const results = Object.entries(t).map(([id, v]) => ({
          id,
          medianMs: round(v.medianMs, 3),
          p90Ms: round(v.p90Ms, 3),
          rounds: v.rounds,
          vsRunningSmtpSink: round(ratio(v.medianMs, floor), 2),
        }));
        return {
          what: 'In one process, as a test pays it: a new nodemailer transport and one send per round; rounds interleaved.',
          notes: ['The floor is the same send to an smtp-sink that is already running (in its own process).'],
          floorMs: floor,
          results,
        };
      } finally {
        await sink.stop();
      }
    },
  },
  {
    id: 'start-close',
    title: 'Start + close without a client',
    needs: ['smtpServer'],
    async run() {
      const result = await run(
        process.execPath,
        [join(here, 'scenarios', 'start-close.mjs'), '--rounds', String(n(3000, 500))],
        { env: flags.baseline ? { BENCH_MAILHOLE_BASELINE: flags.baseline } : {} },
      );
      if (result.code !== 0) throw new Error(`start-close.mjs failed: ${result.stderr.slice(0, 500)}`);
      const results = Object.entries(lastJson(result.stdout)).map(([id, v]) => ({
        id,
        medianMs: round(v.medianMs, 4),
        p90Ms: round(v.p90Ms, 4),
        rounds: v.rounds,
      }));
      return {
        what: 'await (await startSink()).close() against new SMTPServer() + listen(0) + close(), interleaved, after 200 warm-up rounds each.',
        results,
      };
    },
  },
  {
    id: 'idle',
    title: `Memory per idle connection (${IDLE_CONNECTIONS.toLocaleString('en-US')} connections)`,
    needs: ['smtpSink', 'smtpServer'],
    async run() {
      const results = [];
      for (const id of ['mailhole', 'smtp-server', 'smtp-sink']) {
        const options = id === 'smtp-sink' ? { maxConcurrency: FILES, backlog: 1024, files: FILES } : { files: FILES };
        const server = await serverSpecs[id].start(options);
        try {
          const measure = async () => {
            if (server.gc) {
              const { memory } = await server.gc();
              return { rss: memory.rss, heapUsed: memory.heapUsed };
            }
            return { rss: server.rss(), heapUsed: Number.NaN };
          };
          const before = await measure();
          const client = await startHolding(
            process.execPath,
            [idleClient, '--port', String(server.port), '--connections', String(IDLE_CONNECTIONS)],
            { files: FILES },
          );
          await sleep(1000);
          const after = await measure();
          await client.stop();
          const open = client.report.open;
          results.push({
            id,
            label: serverSpecs[id].label,
            connections: open,
            errors: client.report.errors,
            rssBeforeMB: round(before.rss / 2 ** 20, 1),
            rssAfterMB: round(after.rss / 2 ** 20, 1),
            rssKBPerConnection: round((after.rss - before.rss) / 1024 / open, 2),
            heapKBPerConnection: round((after.heapUsed - before.heapUsed) / 1024 / open, 2),
          });
          log(`  ${serverSpecs[id].label}: ${open} open, ${results.at(-1).rssKBPerConnection} KB RSS per connection`);
        } finally {
          await server.stop();
        }
      }
      return {
        what: `bench/clients/idle-client.mjs opens ${IDLE_CONNECTIONS} connections (200 handshakes at a time), waits for each greeting and leaves them idle; resident memory (and the V8 heap after a full GC, for the Node servers) before and after, divided by the connections.`,
        notes: [
          `Each process runs with its open-file limit raised to ${FILES} (prlimit); mailhole with maxConnections ${FILES}, smtp-sink with -m ${FILES}.`,
          "Kernel socket buffers are not in any process's RSS; they are the same for every server.",
        ],
        results,
      };
    },
  },
  {
    id: 'count-memory',
    title: `Resident memory over ${n(1_000_000, 200_000).toLocaleString('en-US')} messages, counting only`,
    needs: [],
    async run() {
      const total = n(1_000_000, 200_000);
      const every = total / 10;
      const server = await startNodeServer(
        'mailhole-count',
        { kind: 'mailhole', options: { capture: 'count' }, sampleEvery: every },
        { execArgv: mailholeExecArgv() },
      );
      try {
        const result = await run(
          process.execPath,
          [
            loadClient,
            '--port',
            String(server.port),
            '--mode',
            'pipelining',
            '--connections',
            '20',
            '--messages',
            String(total),
            '--size',
            '200',
          ],
          { timeoutMs: 900_000 },
        );
        if (result.code !== 0) throw new Error(`load client failed: ${(result.stderr || result.stdout).slice(0, 500)}`);
        const { elapsedMs } = lastJson(result.stdout);
        await sleep(100);
        const samples = (await server.samples()).map((s) => ({
          accepted: s.accepted,
          rssMB: round(s.rssMB, 1),
          heapUsedMB: round(s.heapUsedMB, 1),
          heapTotalMB: round(s.heapTotalMB, 1),
          externalMB: round(s.externalMB, 1),
        }));
        const { accepted, memory } = await server.gc();
        const first = samples[0];
        const last = samples.at(-1);
        return {
          what: `mailhole with capture 'count'; bench/clients/load-client.mjs --mode pipelining --connections 20 --messages ${total} --size 200; RSS sampled each time the accepted count passes a multiple of ${every.toLocaleString('en-US')}.`,
          accepted,
          exact: accepted === total,
          perSecond: round((total * 1000) / elapsedMs, 0),
          samples,
          rssGrowthMB: first && last ? round(last.rssMB - first.rssMB, 1) : Number.NaN,
          // The first samples include V8 sizing its heap to the load; a leak shows as growth that goes on.
          rssGrowthSecondHalfMB: last
            ? round(last.rssMB - samples[Math.floor(samples.length / 2) - 1].rssMB, 1)
            : Number.NaN,
          heapAfterGcMB: round(memory.heapUsed / 2 ** 20, 1),
          rssAfterGcMB: round(memory.rss / 2 ** 20, 1),
        };
      } finally {
        await server.stop();
      }
    },
  },
  {
    id: 'workers',
    title: 'Workers mode (node:cluster): 1 and 2 workers',
    needs: ['smtpSource'],
    async run() {
      const started = {};
      try {
        for (const w of [1, 2]) started[w] = await startMailholeServe(w, ['--max-connections', String(FILES)]);
      } catch (error) {
        for (const s of Object.values(started)) await s.stop();
        return { pending: `mailhole serve --workers could not be measured: ${error.message}` };
      }
      try {
        const out = {};
        for (const [key, client, units] of [
          ['reused', smtpSource(reusedArgs), n(20_000, 5000)],
          ['pipelining', nodeClient(loadClient, pipeliningArgs), n(20_000, 5000)],
        ]) {
          const entries = [1, 2].map((w) => ({
            id: `workers-${w}`,
            label: `${w} worker${w > 1 ? 's' : ''}`,
            server: started[w],
            client,
          }));
          out[key] = await alternate(entries, { reference: 'workers-1', units });
        }
        return {
          what: `mailhole serve --workers N --no-api (the primary hands connections to the workers round-robin); the reused-connection smtp-source run and the pipelining client. This machine has ${machine().cores} cores, shared with the client.`,
          notes: [
            'Server CPU sums the primary and its workers.',
            'The primary only hands each new connection to a worker; the 20 connections then stay with their worker. On a 2-core machine that also runs the client, a second worker has no free core to use: scaling needs more cores than the client takes.',
          ],
          ...out,
        };
      } finally {
        for (const s of Object.values(started)) await s.stop();
      }
    },
  },
];

// --- main ----------------------------------------------------------------------------------------------

const selected = flags.only ? flags.only.split(',').map((s) => s.trim()) : scenarios.map((s) => s.id);
for (const id of selected) {
  if (!scenarios.some((s) => s.id === id)) {
    console.error(`bench: unknown scenario "${id}"; known: ${scenarios.map((s) => s.id).join(', ')}`);
    process.exit(2);
  }
}

const missing = ensureTools();
if (missing.length > 0) {
  console.error('bench: missing, the scenarios that need them are skipped:');
  for (const m of missing) console.error(`  - ${m}`);
}
if (flags.profile) {
  mkdirSync(profileDir, { recursive: true });
  for (const file of readdirSync(profileDir)) if (file.endsWith('.cpuprofile')) rmSync(join(profileDir, file));
}

const report = {
  suite: 'mailhole bench (issue #8)',
  mode: quick ? 'quick' : 'full',
  runs: RUNS,
  ...(flags.baseline ? { baseline: flags.baseline } : {}),
  machine: machine(),
  missing,
  scenarios: [],
};
log(
  `machine: ${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}, load ${report.machine.loadAverage.join(' ')}`,
);

const started = performance.now();
for (const scenario of scenarios.filter((s) => selected.includes(s.id))) {
  const absent = scenario.needs.filter((tool) => !tools[tool]);
  if (absent.length > 0) {
    report.scenarios.push({
      id: scenario.id,
      title: scenario.title,
      skipped: `needs ${absent.join(', ')} (see "missing")`,
    });
    log(`${scenario.title}: skipped, needs ${absent.join(', ')}`);
    continue;
  }
  log(`${scenario.title} …`);
  const loadBefore = loadAverage();
  const t0 = performance.now();
  try {
    const result = await scenario.run();
    report.scenarios.push({
      id: scenario.id,
      title: scenario.title,
      loadAverage: loadBefore,
      seconds: round((performance.now() - t0) / 1000, 1),
      ...result,
    });
  } catch (error) {
    log(`${scenario.title}: failed: ${error.stack ?? error}`);
    report.scenarios.push({ id: scenario.id, title: scenario.title, error: String(error.message ?? error) });
  }
}
report.seconds = round((performance.now() - started) / 1000, 0);
report.loadAverageAtEnd = loadAverage();

mkdirSync(dirname(flags.out), { recursive: true });
writeFileSync(`${flags.out}.json`, `${JSON.stringify(report, null, 2)}\n`);
const markdown = renderMarkdown(report);
writeFileSync(`${flags.out}.md`, markdown);
console.log(`\n${markdown}`);
log(`wrote ${flags.out}.md and ${flags.out}.json in ${report.seconds} s`);
if (flags.profile) log(`CPU profiles of the mailhole servers: ${profileDir} (node bench/lib/profile-top.mjs <file>)`);
