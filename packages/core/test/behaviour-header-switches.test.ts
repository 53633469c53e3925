import { describe, expect, it } from 'vitest';
import { readHeaderSwitches } from '../src/behaviour/header-switches.js';
import { SinkBehaviour } from '../src/behaviour/policy.js';
import { bounceReplies } from '../src/behaviour/replies.js';
import { replies } from '../src/protocol/replies.js';
import type { StagePolicy } from '../src/protocol/types.js';
import { resolveOptions, type SinkOptions } from '../src/server/options.js';
import { stageContext } from './behaviour-context.js';

const read = (headers: string) => readHeaderSwitches(Buffer.from(headers, 'utf8'));

describe('reading header switches', () => {
  it('a message without switches has none (and is not parsed)', () => {
    expect(read('From: a@test\r\nSubject: hello\r\n\r\n')).toBeUndefined();
  });

  it('reads the black-hole MTA switches, case-insensitively', () => {
    expect(read('x-blackhole-mode: Bounce\r\nX-BLACKHOLE-DELAY: 2\r\n\r\n')).toEqual({
      mode: 'bounce',
      delay: [2000, 2000],
    });
  });

  it('reads a MIN, MAX delay in seconds, fractions included', () => {
    expect(read('X-Blackhole-Delay: 0.5, 3\r\n\r\n')).toEqual({ delay: [500, 3000] });
  });

  it('caps delays at 60 seconds like the black-hole MTA', () => {
    expect(read('X-Blackhole-Delay: 10, 600\r\n\r\n')).toEqual({ delay: [10_000, 60_000] });
  });

  it('reads X-Mailhole-Reply, X-Mailhole-Accept-Ratio and a folded value', () => {
    expect(read('X-Mailhole-Reply: 451 4.3.0\r\n Try later\r\nX-Mailhole-Accept-Ratio: 0.25\r\n\r\n')).toEqual({
      reply: { code: 451, enhanced: '4.3.0', text: 'Try later' },
      acceptRatio: 0.25,
    });
  });

  it('X-Mailhole-* wins over X-Blackhole-* when both are present', () => {
    expect(read('X-Blackhole-Mode: bounce\r\nX-Mailhole-Mode: accept\r\n\r\n')).toEqual({ mode: 'accept' });
  });

  it.each([
    ['X-Blackhole-Mode: drop', 'X-Blackhole-Mode', /accept, bounce or random/],
    ['X-Mailhole-Delay: soon', 'X-Mailhole-Delay', /seconds as N or MIN, MAX/],
    ['X-Mailhole-Delay: 5, 1', 'X-Mailhole-Delay', /MIN must not be greater than MAX/],
    ['X-Mailhole-Reply: 354 go on', 'X-Mailhole-Reply', /must be 2xx, 4xx or 5xx/],
    ['X-Mailhole-Reply: 451 5.3.0 Mixed', 'X-Mailhole-Reply', /different class/],
    ['X-Mailhole-Accept-Ratio: 2', 'X-Mailhole-Accept-Ratio', /from 0 to 1/],
  ])('a bad value (%s) is reported with the header and the reason', (line, header, why) => {
    const result = read(`${line}\r\n\r\n`);

    expect(result).toMatchObject({ header });
    expect((result as { why: string }).why).toMatch(why);
  });
});

describe('header switches in the policy', () => {
  const accepted = replies.accepted('ID');
  const policy = (options: SinkOptions): StagePolicy => {
    const resolved = resolveOptions(options);
    const target = { policy: undefined as StagePolicy | undefined };
    new SinkBehaviour(resolved.behaviour).attach(target);
    return target.policy as StagePolicy;
  };
  const message = (headers: string) => stageContext('message', { sender: 'a@test', headers });

  it('a switch decides the final reply of its own message only', () => {
    const p = policy({ headerSwitches: true });

    const switched = p.decide(message('X-Blackhole-Mode: bounce\r\n\r\n'), accepted)?.reply;
    const next = p.decide(message('Subject: the next one\r\n\r\n'), accepted);

    expect(bounceReplies).toContain(switched);
    expect(next).toBeUndefined();
  });

  it('X-Mailhole-Reply sets the exact reply, and a delay switch the wait before it', () => {
    const p = policy({ headerSwitches: true });

    expect(
      p.decide(message('X-Mailhole-Reply: 452 4.2.2 Mailbox full\r\nX-Mailhole-Delay: 1\r\n\r\n'), accepted),
    ).toEqual({
      reply: { code: 452, enhanced: '4.2.2', text: 'Mailbox full' },
      delayMs: 1000,
      // What the session transcript shows next to the reply.
      decidedBy: 'header switch (delay 1000 ms, reply 452)',
    });
  });

  it('a switch overrides the sink mode for its message', () => {
    const p = policy({ mode: 'bounce' });

    expect(p.decide(message('X-Mailhole-Mode: accept\r\n\r\n'), accepted)).toBeUndefined();
  });

  it('a bad switch refuses the message with 554 5.6.0 naming the header, so a typo shows', () => {
    const p = policy({ headerSwitches: true });

    expect(p.decide(message('X-Blackhole-Mode: bouncy\r\n\r\n'), accepted)?.reply).toEqual({
      code: 554,
      enhanced: '5.6.0',
      text: 'Bad header switch X-Blackhole-Mode: use accept, bounce or random',
    });
  });

  it('with headerSwitches: false the switches are ignored', () => {
    const p = policy({ mode: 'accept', delay: 0, headerSwitches: false });

    expect(p.wantsHeaders).toBe(false);
    expect(p.decide(message('X-Blackhole-Mode: bounce\r\n\r\n'), accepted)).toBeUndefined();
  });
});
