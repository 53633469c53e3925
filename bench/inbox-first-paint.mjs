// The web inbox with 10,000 deliveries: how long until the list shows its first rows, what the page
// holds in memory, how long a scroll to the oldest delivery takes, and how soon a new delivery
// shows after its 250. Debian's Chromium through playwright-core; mail from Postfix's smtp-source.
//
//   pnpm build && node bench/inbox-first-paint.mjs [--deliveries 10000] [--runs 7]
//
// Writes bench/results/inbox.json and bench/results/inbox.md. Numbers are recorded, never asserted.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { promisify } from 'node:util';
import { startSink } from '@mailhole/core';
import { chromium } from 'playwright-core';
import { locate } from '../scripts/locate-command.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const DELIVERIES = flag('deliveries', 10_000);
const RUNS = flag('runs', 7);
const TARGET_MS = 300;
const CHROMIUM = process.env.MAILHOLE_CHROMIUM ?? '/usr/bin/chromium';

const smtpSource = locate('smtp-source');
if (smtpSource === undefined)
  throw new Error('smtp-source is missing: run node scripts/ensure-clients.mjs (Debian postfix)');

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** One message over a raw socket; resolves with Date.now() when its 250 arrives. */
function sendOne(port, subject) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = '';
    let step = 0;
    const script = [
      'EHLO bench.test\r\n',
      'MAIL FROM:<bench@test>\r\n',
      'RCPT TO:<late@test>\r\n',
      'DATA\r\n',
      `Subject: ${subject}\r\nFrom: bench@test\r\nTo: late@test\r\n\r\nhello\r\n.\r\n`,
      'QUIT\r\n',
    ];
    let acceptedAt = 0;
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      buffer += chunk;
      // Replies end with a line whose 4th character is a space.
      while (/^\d{3} .*\r\n/m.test(buffer)) {
        const end = buffer.search(/^\d{3} .*\r\n/m);
        const line = /^\d{3} .*\r\n/m.exec(buffer.slice(end))[0];
        buffer = buffer.slice(end + line.length);
        if (step === 5 && line.startsWith('250')) acceptedAt = Date.now();
        if (step < script.length) socket.write(script[step++]);
        else socket.end();
      }
    });
    socket.on('close', () => (acceptedAt ? resolve(acceptedAt) : reject(new Error('no 250 for the message'))));
    socket.on('error', reject);
  });
}

// As `mailhole serve` runs by default: capture "envelope", header switches on (so subjects are kept).
const sink = await startSink({ api: true, capture: 'envelope', headerSwitches: true, maxRecords: DELIVERIES + 100 });
const fillStarted = Date.now();
await promisify(execFile)(
  smtpSource,
  [
    '-s',
    '20',
    '-m',
    String(DELIVERIES),
    '-c',
    '-f',
    'app@bench.test',
    '-t',
    'user@bench.test',
    '-S',
    'bench message',
    `127.0.0.1:${sink.port}`,
  ],
  { maxBuffer: 64 * 1024 * 1024 },
);
await sink.waitFor(DELIVERIES, { timeout: 60_000 });
const fillMs = Date.now() - fillStarted;

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

// The moment the first row is in the DOM, as the page's own clock sees it (ms since navigation start).
const observeFirstRow = () => {
  new MutationObserver((_records, observer) => {
    if (document.querySelector('[role="option"]') !== null) {
      window.__firstRow = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
};

/** Loads the inbox RUNS times (after a warm-up load) and measures each load. */
async function measure(target) {
  const samples = [];
  for (let run = 0; run <= RUNS; run++) {
    const context = await browser.newContext({ viewport: { width: 1360, height: 820 } });
    const page = await context.newPage();
    await page.addInitScript(observeFirstRow);
    await page.goto(target.inboxUrl);
    await page.waitForFunction(() => window.__firstRow !== undefined);
    const firstRow = await page.evaluate(() => window.__firstRow);
    const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null);
    // The same tab loading the page again (its renderer already running), as a reload or a second visit does.
    await page.reload();
    await page.waitForFunction(() => window.__firstRow !== undefined);
    const reloadFirstRow = await page.evaluate(() => window.__firstRow);
    // Scroll to the oldest delivery: only its window of rows is fetched and drawn.
    const scrolled = await page.evaluate(async () => {
      const list = document.getElementById('list');
      const started = performance.now();
      list.scrollTop = list.scrollHeight;
      list.dispatchEvent(new Event('scroll'));
      await new Promise((resolve) => {
        const check = () =>
          document.querySelector('[aria-posinset="1"]') !== null ||
          [...document.querySelectorAll('[role="option"]')].some(
            (o) => o.getAttribute('aria-posinset') === o.getAttribute('aria-setsize'),
          )
            ? resolve()
            : requestAnimationFrame(check);
        check();
      });
      return performance.now() - started;
    });
    const cdp = await context.newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    const domNodes = await page.evaluate(() => document.getElementsByTagName('*').length);
    const rowsInDom = await page.evaluate(() => document.querySelectorAll('[role="option"]').length);

    let liveMs;
    if (run > 0) {
      // Back to the newest deliveries, where a new one shows up.
      await page.evaluate(() => {
        const list = document.getElementById('list');
        list.scrollTop = 0;
        list.dispatchEvent(new Event('scroll'));
      });
      await page.locator('[aria-posinset="1"]').waitFor();
      const subject = `live ${run}`;
      const acceptedAt = await sendOne(target.port, subject);
      await page.locator('[role="option"]', { hasText: subject }).first().waitFor({ timeout: 10_000 });
      liveMs = Date.now() - acceptedAt;
    }
    await context.close();
    // The first run warms Chromium and the sink up and is not recorded.
    if (run > 0)
      samples.push({ firstRow, reloadFirstRow, fcp, scrolled, heapBytes: usedSize, domNodes, rowsInDom, liveMs });
  }
  return samples;
}

// The same page over a sink holding one delivery: what Chromium itself needs to paint the page here.
const baselineSink = await startSink({ api: true, capture: 'envelope', headerSwitches: true });
await sendOne(baselineSink.port, 'baseline');
const baseline = await measure(baselineSink);
await baselineSink.close();
const samples = await measure(sink);
await browser.close();

const listStarted = performance.now();
const response = await fetch(`${sink.apiUrl}/api/inbox/deliveries?limit=100`);
await response.json();
const listMs = performance.now() - listStarted;
await sink.close();

const result = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  deliveries: DELIVERIES,
  runs: RUNS,
  fillMs,
  targetMs: TARGET_MS,
  median: {
    firstRowMs: median(samples.map((s) => s.firstRow)),
    firstContentfulPaintMs: median(samples.map((s) => s.fcp ?? Number.NaN)),
    reloadFirstRowMs: median(samples.map((s) => s.reloadFirstRow)),
    scrollToOldestMs: median(samples.map((s) => s.scrolled)),
    heapBytes: median(samples.map((s) => s.heapBytes)),
    domNodes: median(samples.map((s) => s.domNodes)),
    rowsInDom: median(samples.map((s) => s.rowsInDom)),
    liveAfter250Ms: median(samples.map((s) => s.liveMs)),
  },
  baseline: {
    deliveries: 1,
    firstRowMs: median(baseline.map((b) => b.firstRow)),
    reloadFirstRowMs: median(baseline.map((b) => b.reloadFirstRow)),
    firstContentfulPaintMs: median(baseline.map((b) => b.fcp ?? Number.NaN)),
  },
  loadAverage: loadavg(),
  firstPageApiMs: listMs,
  samples,
};
writeFileSync(new URL('results/inbox.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
const m = result.median;
const md = `# Web inbox with ${DELIVERIES.toLocaleString('en')} deliveries

${result.date}, ${result.machine.cpus} CPUs (${result.machine.model}), Node ${result.machine.node}, Debian Chromium
(headless) through playwright-core, load average ${result.loadAverage.map((l) => l.toFixed(1)).join(' ')} (other work
shares the machine); ${DELIVERIES} deliveries sent by smtp-source (${fillMs} ms), capture
"envelope". Median of ${RUNS} page loads, after one warm-up load. \`node bench/inbox-first-paint.mjs\`.

| measure | median | target |
| --- | ---: | ---: |
| first list row in the DOM, new tab (ms after navigation start) | ${m.firstRowMs.toFixed(0)} | < ${TARGET_MS} ${m.firstRowMs < TARGET_MS ? '✓' : '✗'} |
| first list row in the DOM, same tab reloaded (ms) | ${m.reloadFirstRowMs.toFixed(0)} | < ${TARGET_MS} ${m.reloadFirstRowMs < TARGET_MS ? '✓' : '✗'} |
| first contentful paint (ms) | ${m.firstContentfulPaintMs.toFixed(0)} | |
| with 1 delivery instead: first row new tab / reloaded / first contentful paint (ms) | ${result.baseline.firstRowMs.toFixed(0)} / ${result.baseline.reloadFirstRowMs.toFixed(0)} / ${result.baseline.firstContentfulPaintMs.toFixed(0)} | |
| scroll to the oldest delivery, rows drawn (ms) | ${m.scrollToOldestMs.toFixed(0)} | |
| a new delivery in the list after its 250 (ms) | ${m.liveAfter250Ms.toFixed(0)} | < 1000 ${m.liveAfter250Ms < 1000 ? '✓' : '✗'} |
| JS heap after GC (kB) | ${(m.heapBytes / 1024).toFixed(0)} | |
| DOM elements / list rows in the DOM | ${m.domNodes} / ${m.rowsInDom} | |
| \`GET /api/inbox/deliveries?limit=100\` from Node (ms) | ${listMs.toFixed(1)} | |

The list is virtual: the page asks for 100 rows at a time (\`offset\`, \`limit\`), keeps at most 12
such pages, and draws only the rows in view, so neither the DOM nor the heap grows with the number
of deliveries.
`;
writeFileSync(new URL('results/inbox.md', import.meta.url), md);
process.stdout.write(md);
