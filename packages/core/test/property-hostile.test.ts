import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpSession } from '../src/protocol/session.js';
import type { Transaction } from '../src/protocol/types.js';
import type { Sink } from '../src/server/sink.js';
import { startSink } from '../src/start.js';
import { cutsOf, rawCuts, runSession, setup, smtpStream } from './property-streams.js';

// Hostile traffic, fuzzed with a fixed budget (fixed seeds, fixed run counts, so CI time is fixed):
// SMTP-shaped streams with floods mixed in (recipient floods, over-long lines, error storms),
// split anywhere, through the pure session and through a real sink over real sockets, with the
// client leaving at any point. Invariants: no throw escapes, what the sink counts is what the
// client was told, and what a session holds stays within its limits. A longer soak is in bench/.

const MAX_RECIPIENTS = 5;
const MAX_REJECTED = 3;
const COMMAND_LINE = 512;
const SASL_LINE = 12 * 1024;

/** Floods a hostile client mixes into otherwise SMTP-shaped traffic. */
const flood = fc.oneof(
  fc.integer({ min: 1, max: 400 }).map((n) => `MAIL FROM:<f@x.test>\r\n${'RCPT TO:<r@x.test>\r\n'.repeat(n)}`),
  fc.integer({ min: 1, max: 200 }).map((n) => 'FROB\r\n'.repeat(n)),
  fc.integer({ min: 500, max: 20_000 }).map((n) => `NOOP ${'x'.repeat(n)}\r\n`),
  fc.integer({ min: 500, max: 20_000 }).map((n) => `AUTH PLAIN ${'A'.repeat(n)}\r\n`),
  fc.integer({ min: 1, max: 40 }).map((n) => 'MAIL FROM:<a@b.c>\r\n'.repeat(n)),
);

const hostileStream = fc.tuple(smtpStream, fc.array(flood, { maxLength: 3 }), fc.nat()).map(([stream, floods, at]) => {
  const text = stream.toString('latin1');
  const cut = text.length === 0 ? 0 : at % text.length;
  return Buffer.from(text.slice(0, cut) + floods.join('') + text.slice(cut), 'latin1');
});

/** What a session holds right now, read from its private state (this is a white-box bound check). */
function held(session: SmtpSession): { line: number; recipients: number; rejected: number; errors: number } {
  const inside = session as unknown as {
    lines: { pending?: Buffer };
    transaction?: Transaction;
    errors: number;
  };
  return {
    line: inside.lines.pending?.length ?? 0,
    recipients: inside.transaction?.recipients.length ?? 0,
    rejected: inside.transaction?.rejectedRecipients.length ?? 0,
    errors: inside.errors,
  };
}

describe('hostile traffic through the session', () => {
  it('never throws, and holds no more than its limits, however the stream is split', () => {
    fc.assert(
      fc.property(hostileStream, rawCuts, setup, (input, raw, s) => {
        const run = runSession(input, cutsOf(input.length, raw), s);
        expect(run.threw).toBeUndefined();
        const h = held(run.session);
        expect(h.line).toBeLessThan(Math.max(COMMAND_LINE, SASL_LINE));
        expect(h.recipients).toBeLessThanOrEqual(MAX_RECIPIENTS);
        expect(h.rejected).toBeLessThanOrEqual(MAX_REJECTED);
        expect(h.errors).toBeLessThanOrEqual(s.maxInvalidCommands);
        // At the error limit the session is over: a flood of errors cannot go on.
        if (h.errors >= s.maxInvalidCommands) expect(run.closed).toBe(true);
        for (const d of run.deliveries) {
          expect(d.recipients.length).toBeLessThanOrEqual(MAX_RECIPIENTS);
        }
        for (const o of run.output) {
          if (o.type === 'reply' && o.delivery !== undefined) {
            expect(o.delivery.rejectedRecipients.length).toBeLessThanOrEqual(MAX_REJECTED);
          }
        }
      }),
      { numRuns: 300, seed: 1313 },
    );
  });
});

/** How the client leaves: QUIT-less FIN after everything, FIN halfway, or a reset halfway. */
type Leave = 'end' | 'end-early' | 'reset-early';

interface WireRun {
  /** Message ids the client read in "250 … Message accepted as <id>" replies. */
  seen: string[];
  leave: Leave;
}

function converse(port: number, input: Buffer, cuts: number[], leave: Leave): Promise<WireRun> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', () => {
      // A reset (ours or the sink's) is one of the outcomes under test.
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the sink did not end the connection; it said: ${text.slice(-400)}`));
    }, 20_000);
    socket.once('close', () => {
      clearTimeout(timer);
      const seen = [...text.matchAll(/^250 2\.0\.0 Message accepted as (\S+)\r$/gm)].map((m) => m[1] as string);
      resolve({ seen, leave });
    });
    socket.once('connect', () => {
      const bounds = [0, ...cuts, input.length];
      const stop = leave === 'end' ? bounds.length - 1 : Math.max(1, Math.floor((bounds.length - 1) / 2));
      for (let i = 0; i < stop; i++) socket.write(input.subarray(bounds[i], bounds[i + 1]));
      if (leave === 'reset-early') socket.resetAndDestroy();
      else socket.end();
    });
  });
}

describe('hostile traffic through a real sink', () => {
  let sink: Sink;
  const errors: unknown[] = [];

  beforeAll(async () => {
    sink = await startSink({
      maxRecipients: MAX_RECIPIENTS,
      maxRejectedRecipients: MAX_REJECTED,
      maxCommandLineLength: COMMAND_LINE,
      maxMessageSize: 4096,
      maxInvalidCommands: 20,
      errorDelay: 0,
      auth: true,
      maxRecords: 100_000,
    });
    sink.on('error', (error) => errors.push(error));
  });
  afterAll(() => sink.close());

  it('counts exactly the messages the client was told were accepted, and releases every connection', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileStream,
        rawCuts,
        fc.constantFrom<Leave>('end', 'end', 'end-early', 'reset-early'),
        async (input, raw, leave) => {
          const mark = sink.mark();
          const run = await converse(sink.port, input, cutsOf(input.length, raw).slice(0, 12), leave);
          // The connection is released before its close is final on our side or right after it.
          for (let i = 0; i < 500 && sink.stats().activeConnections > 0; i++) {
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          expect(sink.stats().activeConnections).toBe(0);
          const counted = sink.deliveries({ since: mark }).map((r) => r.id);
          expect(sink.acceptedSince(mark)).toBe(counted.length);
          if (run.leave === 'reset-early') {
            // A reset may swallow replies already sent: the client saw at most what was counted.
            for (const id of run.seen) expect(counted).toContain(id);
          } else {
            expect(run.seen).toEqual(counted);
          }
          for (const record of sink.deliveries({ since: mark, includeRejected: true })) {
            expect(record.rejectedRecipients.length).toBeLessThanOrEqual(MAX_REJECTED);
            expect(record.recipients.length).toBeLessThanOrEqual(MAX_RECIPIENTS);
          }
        },
      ),
      { numRuns: 60, seed: 1314 },
    );
    expect(errors).toEqual([]);
  }, 120_000);
});
