import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from './support/child.js';

// A 200 MiB message, streamed as fast as loopback carries it, in a child process that measures its
// own memory: the sink counts octets as they pass and keeps none of them (unless capture is on,
// and then no more than maxCaptureBytes), so memory grows by far less than the message.

const SIZE = 200 * 1024 * 1024;
const LIMIT = 10 * 1024 * 1024;
const CAPTURE_BUDGET = 16 * 1024 * 1024;
const MiB = 1024 * 1024;
/** Growth allowed while 200 MiB stream through: socket buffers awaiting GC, never the message. */
const RSS_BOUND = 100 * MiB;
const HEAP_BOUND = 16 * MiB;

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}
interface Result {
  name: string;
  reply: string;
  stats: {
    accepted: number;
    rejected: number;
    acceptedBytes: number;
    receivedBytes: number;
    uncapturedMessages: number;
  };
  baseline: Memory;
  peak: Memory;
  seconds: number;
}

const scenarios = [
  { name: 'DATA', via: 'DATA', options: { maxMessageSize: 0 } },
  { name: 'DATA over the limit', via: 'DATA', options: { maxMessageSize: LIMIT } },
  { name: 'BDAT', via: 'BDAT', options: { maxMessageSize: 0 } },
  { name: 'BDAT over the limit', via: 'BDAT', options: { maxMessageSize: LIMIT } },
  {
    name: 'DATA with full capture',
    via: 'DATA',
    options: { maxMessageSize: 0, capture: 'full', maxCaptureBytes: CAPTURE_BUDGET },
  },
];

const results = new Map<string, Result>();

beforeAll(async () => {
  const child = fileURLToPath(new URL('./support/hostile-big-message-child.mjs', import.meta.url));
  const out = await run(process.execPath, ['--expose-gc', child, JSON.stringify({ size: SIZE, scenarios })], {
    timeout: 90_000,
  });
  if (out.code !== 0) throw new Error(`the 200 MiB child failed (exit ${out.code}):\n${out.stderr}`);
  for (const line of out.stdout.trim().split('\n')) {
    const result = JSON.parse(line) as Result;
    results.set(result.name, result);
  }
}, 120_000);

function result(name: string): Result {
  const r = results.get(name);
  if (r === undefined) throw new Error(`no result for scenario "${name}"`);
  return r;
}

const growth = (r: Result, key: keyof Memory): number => r.peak[key] - r.baseline[key];

describe('a 200 MiB message', () => {
  it.each(['DATA', 'BDAT'])('is accepted over %s and counted with its exact size', (name) => {
    const r = result(name);
    expect(r.reply).toMatch(/^250 2\.0\.0 /);
    expect(r.stats).toMatchObject({ accepted: 1, acceptedBytes: SIZE });
  });

  it.each(['DATA over the limit', 'BDAT over the limit'])(
    'is refused with 552 5.3.4 when maxMessageSize is set (%s)',
    (name) => {
      const r = result(name);
      expect(r.reply).toBe(`552 5.3.4 Message size exceeds the limit of ${LIMIT} octets (option maxMessageSize)`);
      expect(r.stats).toMatchObject({ accepted: 0, rejected: 1, acceptedBytes: 0 });
      expect(r.stats.receivedBytes).toBeGreaterThan(SIZE);
    },
  );

  it('is delivered but not kept when it exceeds maxCaptureBytes', () => {
    const r = result('DATA with full capture');
    expect(r.reply).toMatch(/^250 2\.0\.0 /);
    expect(r.stats).toMatchObject({ accepted: 1, acceptedBytes: SIZE, uncapturedMessages: 1 });
  });

  it.each(scenarios.map((s) => s.name))('streams through with memory far below its size (%s)', (name) => {
    const r = result(name);
    const report = `${name}: rss +${(growth(r, 'rss') / MiB).toFixed(1)} MiB, heap +${(growth(r, 'heapUsed') / MiB).toFixed(1)} MiB`;
    expect(growth(r, 'rss'), report).toBeLessThan(RSS_BOUND);
    expect(growth(r, 'heapUsed'), report).toBeLessThan(HEAP_BOUND);
  });
});
