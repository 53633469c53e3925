import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatReply } from '../src/protocol/reply.js';
import {
  cutsOf,
  isPositive,
  outcome,
  plainSetup,
  type Run,
  randomStream,
  rawCuts,
  replyProblems,
  runSession,
  setup,
  smtpStream,
} from './property-streams.js';

// Properties of the pure session over generated traffic: pure random bytes, and SMTP-shaped
// streams (valid commands, mutations, DATA bodies with dots, bare CR and bare LF, BDAT with right
// and wrong sizes) under random limits, TLS, AUTH, LMTP and a scripted policy. protocol-session-fuzz
// checks split invariance over a fixed vocabulary; these search a much larger space and also check
// what every reply and every session end looks like. A failure prints its seed and a shrunk case.

const runs = (n: number) => ({ numRuns: n });

/** The properties every run must have, whatever the input. */
function checkRun(run: Run): void {
  expect(run.threw).toBeUndefined();
  for (const item of run.output) {
    if (item.type === 'reply') expect(replyProblems(item.reply), formatReply(item.reply)).toEqual([]);
  }
  expect(run.afterClose).toBe(0);
}

describe('session properties over random bytes', () => {
  it('never throws and answers only with well-formed replies', () => {
    fc.assert(
      fc.property(randomStream, setup, (input, s) => {
        checkRun(runSession(input, [], s));
      }),
      runs(1000),
    );
  });

  it('answers the same however the bytes are split', () => {
    fc.assert(
      fc.property(randomStream, rawCuts, setup, (input, raw, s) => {
        const whole = runSession(input, [], s);
        const split = runSession(input, cutsOf(input.length, raw), s);
        checkRun(split);
        expect(outcome(split)).toEqual(outcome(whole));
      }),
      runs(1000),
    );
  });
});

describe('session properties over SMTP-shaped traffic', () => {
  it('never throws and answers only with well-formed replies', () => {
    fc.assert(
      fc.property(smtpStream, setup, (input, s) => {
        checkRun(runSession(input, [], s));
      }),
      runs(1500),
    );
  });

  it('answers, delivers and keeps the same octets however the stream is split', () => {
    fc.assert(
      fc.property(smtpStream, rawCuts, setup, (input, raw, s) => {
        const whole = runSession(input, [], s);
        const split = runSession(input, cutsOf(input.length, raw), s);
        checkRun(split);
        expect(outcome(split)).toEqual(outcome(whole));
      }),
      runs(1500),
    );
  });

  it('answers the same when every byte arrives alone', () => {
    fc.assert(
      fc.property(smtpStream, setup, (input, s) => {
        const cuts = Array.from({ length: Math.max(0, input.length - 1) }, (_, i) => i + 1);
        expect(outcome(runSession(input, cuts, s))).toEqual(outcome(runSession(input, [], s)));
      }),
      runs(200),
    );
  });

  it('counts a delivery as accepted exactly when its final reply is 2xx, with every octet kept', () => {
    fc.assert(
      fc.property(smtpStream, setup, (input, s) => {
        const run = runSession(input, [], s);
        const ids = run.deliveries.map((d) => d.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const d of run.deliveries) {
          if (!s.lmtp) expect(d.accepted).toBe(d.reply.startsWith('2'));
          if (d.accepted) expect(d.octets).toBe(d.size);
          if (d.accepted && s.maxMessageSize > 0) expect(d.size).toBeLessThanOrEqual(s.maxMessageSize);
        }
        for (const item of run.output) {
          if (item.type === 'reply' && item.delivery !== undefined) {
            expect(item.delivery.reply).toBe(item.reply);
            if (!s.lmtp) expect(item.delivery.accepted).toBe(isPositive(item.reply));
          }
        }
      }),
      runs(1500),
    );
  });
});

describe('how sessions end', () => {
  it('closes right after every 221 and every 421 reply, and says nothing more', () => {
    fc.assert(
      fc.property(fc.oneof(smtpStream, randomStream), setup, (input, s) => {
        const run = runSession(Buffer.concat([input, Buffer.from('QUIT\r\n')]), [], s);
        run.output.forEach((item, i) => {
          if (item.type === 'reply' && (item.reply.code === 221 || item.reply.code === 421)) {
            expect(
              run.output.slice(i + 1).map((o) => o.type),
              formatReply(item.reply),
            ).toEqual(['close']);
          }
        });
        expect(run.closed).toBe(run.output.some((o) => o.type === 'close' || o.type === 'reset'));
      }),
      runs(1500),
    );
  });

  it('closes the session after a 421 that a policy chose', () => {
    const run = runSession(Buffer.from('EHLO client.test\r\nNOOP\r\n'), [], { ...plainSetup, policy: [0, 5] });
    expect(run.wire).toMatch(/^220 .*\r\n421 4\.3\.2 Going away\r\n\[close\]\r\n$/);
    expect(run.closed).toBe(true);
  });

  it('is always in a state that shutdown ends with exactly one 421 and a close', () => {
    fc.assert(
      fc.property(fc.oneof(smtpStream, randomStream), rawCuts, setup, (input, raw, s) => {
        const run = runSession(input, cutsOf(input.length, raw), s);
        const session = run.session;
        const wasClosed = session.closed;
        session.shutdown();
        const after = session.output.splice(0);
        if (wasClosed) expect(after).toEqual([]);
        else
          expect(after.map((o) => (o.type === 'reply' ? `${o.reply.code} ${o.reply.enhanced}` : o.type))).toEqual([
            '421 4.3.2',
            'close',
          ]);
        expect(session.closed).toBe(true);
        expect(session.inMessage).toBe(false);
        session.feed(Buffer.from('EHLO again\r\nMAIL FROM:<a@b.c>\r\n'));
        expect(session.output).toEqual([]);
      }),
      runs(1000),
    );
  });

  it('reaches QUIT from any state once the client finishes what it started', () => {
    fc.assert(
      fc.property(smtpStream, (input) => {
        const run = runSession(input, [], plainSetup);
        const session = run.session;
        if (session.closed) return;
        session.output.length = 0;
        // Whatever is open: a partial command line gets its line end (it may be a BDAT that opens
        // a chunk), then a DATA body is ended or a BDAT chunk filled (a mutated size stays below
        // 1000 octets); leftovers are refused as commands.
        session.feed(Buffer.from('\r\n'));
        if (session.inMessage) session.feed(Buffer.from(`${' '.repeat(1100)}\r\n.\r\n\r\n`));
        session.feed(Buffer.from('RSET\r\nQUIT\r\n'));
        const out = session.output.splice(0);
        expect(out.at(-1)?.type).toBe('close');
        expect(session.closed).toBe(true);
      }),
      runs(1500),
    );
  });
});
