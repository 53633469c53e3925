import { type Sink, type StartOptions, startSink } from '@mailhole/core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { newTally, nodemailerClient, rawClient, seeded } from './support/hostile-load.mjs';
import { noConnectionsLeft } from './support/hostile-wire.js';
import { within } from './support/within.js';

// Exact accounting under stress: many concurrent clients (raw pipelining ones over DATA and BDAT,
// nodemailer pooled and not, over plain SMTP, STARTTLS and implicit TLS), random aborts part-way
// through a transaction, and injected faults drawn from the sink's seed. Every client counts the
// final replies it actually read; the sink's count of accepted deliveries must equal the number
// of 2xx final replies, and the ids quoted in them must be exactly the ids the sink recorded.

type Tally = ReturnType<typeof newTally>;

/** Faults of every kind at the stages that decide a delivery, each drawn with its own probability. */
const faults: NonNullable<StartOptions['faults']> = [
  { name: 'slow-mail', stage: 'mail', match: { probability: 0.02 }, action: { type: 'delay', ms: [1, 20] } },
  { name: 'no-such-user', stage: 'rcpt', match: { probability: 0.03 }, action: '550 5.1.1 No such user' },
  { name: 'try-later', stage: 'message', match: { probability: 0.1 }, action: '451 4.3.0 Try again later' },
  { name: 'slow-final', stage: 'message', match: { probability: 0.05 }, action: { type: 'delay', ms: [1, 30] } },
  { name: 'disconnect', stage: 'message', match: { probability: 0.01 }, action: 'disconnect' },
  { name: 'silent-close', stage: 'message', match: { probability: 0.01 }, action: 'close' },
  { name: 'reset', stage: 'message', match: { probability: 0.01 }, action: 'reset' },
];

async function loadSink(seed: number): Promise<Sink> {
  const sink = await startSink({ seed, faults, tls: 'both', maxRecords: 100_000 });
  onTestFinished(() => sink.close());
  return sink;
}

interface Load {
  clients: number;
  messages: number;
  abort?: number;
  hangUp?: number;
  stop?: () => boolean;
}

/** Runs a mixed fleet of clients against the sink and returns what they saw. */
async function load(
  sink: Sink,
  seed: number,
  { clients, messages, abort = 0, hangUp = 0, stop }: Load,
): Promise<Tally> {
  const tally = newTally();
  const rng = seeded(seed);
  const target = { host: sink.host, port: sink.port, tlsPort: sink.tlsPort, ca: sink.ca };
  await Promise.all(
    Array.from({ length: clients }, (_, id) => {
      const options = { id, messages, rng: seeded(Math.floor(rng() * 2 ** 32)), tally, stop };
      switch (id % 5) {
        case 0:
        case 1:
          return rawClient(target, { ...options, abort, hangUp });
        case 2:
          return rawClient({ ...target, port: sink.tlsPort, implicitTls: true }, { ...options, abort, hangUp });
        case 3:
          return nodemailerClient(target, { ...options, pool: id % 2 === 0, tls: id % 3 === 0 ? 'starttls' : 'none' });
        default:
          return nodemailerClient(target, { ...options, pool: true, tls: 'implicit' });
      }
    }),
  );
  return tally;
}

/** The ids of the deliveries the sink recorded as accepted. */
const acceptedIds = (sink: Sink): string[] => sink.deliveries().map((d) => d.id);

/** Deliveries the sink recorded that their own client (known by the unique sender) did not read a 250 for. */
function unexplained(sink: Sink, tally: Tally): string[] {
  return sink
    .deliveries()
    .filter(
      (r) => /accepted as (\S+)/.exec(tally.outcomes.get(r.sender) ?? '')?.[1] !== r.id && !tally.hungUp.has(r.sender),
    )
    .map((r) => `${r.id} from ${r.sender}: ${tally.outcomes.get(r.sender) ?? 'never sent'}`);
}

describe('accepted equals the 2xx final replies clients read', () => {
  it.each([1, 2, 3])('with 50 clients × 40 messages, random aborts and faults (seed %i)', async (seed) => {
    const sink = await loadSink(seed);
    const tally = await load(sink, seed, { clients: 50, messages: 40, abort: 0.08 });
    await noConnectionsLeft(sink);

    expect(tally.errors).toEqual([]);
    expect(tally.attempted).toBe(2000);
    expect(tally.seen2xx + tally.refused + tally.aborted + tally.lost).toBe(tally.attempted);
    expect(sink.accepted, sink.describe()).toBe(tally.seen2xx);
    expect(new Set(acceptedIds(sink))).toEqual(tally.ids);
    // Each delivery was read as accepted by the very client that sent it, under the same id.
    expect(unexplained(sink, tally)).toEqual([]);
    // The load really was hostile: aborts happened and every kind of fault fired.
    expect(tally.aborted).toBeGreaterThan(0);
    const fired = new Set(sink.faults.fired().map((f) => f.rule));
    for (const rule of ['no-such-user', 'try-later', 'slow-final']) expect(fired).toContain(rule);
  });
});

describe('clients that hang up right after their end of data', () => {
  it('are counted only when the sink sent their 250, and every 250 a client read is counted', async () => {
    const sink = await loadSink(4);
    const tally = await load(sink, 4, { clients: 30, messages: 30, hangUp: 0.2 });
    await noConnectionsLeft(sink);

    expect(tally.errors).toEqual([]);
    expect(tally.hungUp.size).toBeGreaterThan(0);
    const records = sink.deliveries();
    // Every 250 a client read is a recorded delivery ...
    for (const id of tally.ids) expect(records.some((r) => r.id === id)).toBe(true);
    // ... and every recorded delivery was either read by its client or sent to one that had hung up.
    expect(unexplained(sink, tally)).toEqual([]);
    const unseen = records.filter((r) => !tally.ids.has(r.id));
    for (const r of unseen) expect(tally.hungUp.has(r.sender)).toBe(true);
    expect(sink.accepted).toBe(tally.seen2xx + unseen.length);
  });
});

describe('close() in the middle of the load', () => {
  it.each([5, 6])('ends promptly and leaves accepted equal to the 2xx replies read (seed %i)', async (seed) => {
    const sink = await loadSink(seed);
    let closed = false;
    const running = load(sink, seed, { clients: 40, messages: 100_000, abort: 0.05, stop: () => closed });
    await sink.waitFor(300, { timeout: 60_000 });
    // Not right after a delivery: at a moment of the seed's choosing, with replies in flight.
    await new Promise((resolve) => setTimeout(resolve, 1 + Math.floor(seeded(seed)() * 50)));
    closed = true;
    await within(sink.close(), 5000, 'sink.close() under load');
    const tally = await within(running, 30_000, 'every client noticing the sink closed');

    expect(tally.errors).toEqual([]);
    expect(sink.stats().activeConnections).toBe(0);
    expect(sink.accepted).toBeGreaterThanOrEqual(300);
    expect(sink.accepted, sink.describe()).toBe(tally.seen2xx);
    expect(new Set(acceptedIds(sink))).toEqual(tally.ids);
    expect(unexplained(sink, tally)).toEqual([]);
  });
});
