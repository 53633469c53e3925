import { describe, expect, it } from 'vitest';
import { DEFAULT_ACCEPT_RATIO, modeReply } from '../src/behaviour/modes.js';
import { type PolicyTarget, SinkBehaviour } from '../src/behaviour/policy.js';
import { seededRandom, streamFor } from '../src/behaviour/random.js';
import { bounceReplies } from '../src/behaviour/replies.js';
import { startSink } from '../src/index.js';
import { replies } from '../src/protocol/replies.js';
import type { Reply } from '../src/protocol/reply.js';
import type { StagePolicy } from '../src/protocol/types.js';
import { resolveOptions, type SinkOptions } from '../src/server/options.js';
import { stageContext } from './behaviour-context.js';

const accepted = replies.accepted('ID');

function behaviour(options: SinkOptions): SinkBehaviour {
  const resolved = resolveOptions(options);
  return new SinkBehaviour(resolved.behaviour, resolved.policy);
}

/** The policy the sessions would get, or undefined on the fast path. */
function policyOf(b: SinkBehaviour): StagePolicy | undefined {
  const target: PolicyTarget = { policy: undefined };
  b.attach(target);
  return target.policy;
}

function finalReplies(policy: StagePolicy, count: number, listener = 'smtp'): Reply[] {
  const out: Reply[] = [];
  for (let i = 0; i < count; i++) {
    out.push(policy.decide(stageContext('message', { sender: 'a@test', listener }), accepted)?.reply ?? accepted);
  }
  return out;
}

describe('seeded randomness', () => {
  it('the same seed gives the same sequence, another seed another one', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const take = (r: () => number) => Array.from({ length: 20 }, r);

    const first = take(a);
    expect(take(b)).toEqual(first);
    expect(take(c)).not.toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('named streams of one seed are independent of each other', () => {
    const mode = streamFor(7, 'mode');
    const delay = streamFor(7, 'delay');

    expect(Array.from({ length: 5 }, mode)).not.toEqual(Array.from({ length: 5 }, delay));
  });
});

describe('modes', () => {
  it('the bounce set is the black-hole MTA set, each with an enhanced code of its own class', () => {
    expect(bounceReplies.map((r) => r.code)).toEqual([450, 451, 452, 458, 521, 550, 551, 552, 553, 571]);
    for (const r of bounceReplies) expect(r.enhanced?.[0]).toBe(String(r.code)[0]);
  });

  it('bounce replaces an acceptance with a reply from the bounce set', () => {
    const random = seededRandom(1);
    const got = Array.from({ length: 100 }, () => modeReply('bounce', DEFAULT_ACCEPT_RATIO, accepted, random));

    expect(got.every((r) => bounceReplies.includes(r))).toBe(true);
    expect(new Set(got.map((r) => r.code)).size).toBe(bounceReplies.length);
  });

  it('a refusal the engine decided (message too big) is kept whatever the mode', () => {
    const tooBig = replies.messageTooBig(10);

    expect(modeReply('bounce', 0, tooBig, seededRandom(1))).toBe(tooBig);
  });

  it('random accepts about acceptRatio of the messages', () => {
    const policy = policyOf(behaviour({ mode: 'random', acceptRatio: 0.8, seed: 5 })) as StagePolicy;
    const got = finalReplies(policy, 500);
    const share = got.filter((r) => r.code === 250).length / got.length;

    expect(share).toBeGreaterThan(0.7);
    expect(share).toBeLessThan(0.9);
    expect(got.filter((r) => r.code !== 250).every((r) => bounceReplies.includes(r))).toBe(true);
  });

  it('acceptRatio 0 and 1 make random mode always bounce and always accept', () => {
    const never = policyOf(behaviour({ mode: 'random', acceptRatio: 0, seed: 5 })) as StagePolicy;
    const always = policyOf(behaviour({ mode: 'random', acceptRatio: 1, seed: 5 })) as StagePolicy;

    expect(finalReplies(never, 50).some((r) => r.code === 250)).toBe(false);
    expect(finalReplies(always, 50).every((r) => r === accepted)).toBe(true);
  });

  it('the same seed gives the same replies, message after message', () => {
    const run = () => finalReplies(policyOf(behaviour({ mode: 'random', seed: 99 })) as StagePolicy, 50);

    expect(run().map((r) => r.code)).toEqual(run().map((r) => r.code));
  });

  it('a per-listener mode applies to connections of that listener only', () => {
    const policy = policyOf(behaviour({ tls: 'both', listeners: { smtps: { mode: 'bounce' } } })) as StagePolicy;

    expect(finalReplies(policy, 5, 'smtp').every((r) => r === accepted)).toBe(true);
    expect(finalReplies(policy, 5, 'smtps').every((r) => bounceReplies.includes(r))).toBe(true);
  });
});

describe('delays', () => {
  it('a number delays the final reply to a message only', () => {
    const policy = policyOf(behaviour({ delay: 250 })) as StagePolicy;

    expect(policy.decide(stageContext('message', { sender: 'a@test' }), accepted)).toEqual({
      delayMs: 250,
      decidedBy: 'delay 250 ms',
    });
    expect(policy.decide(stageContext('rcpt', { sender: 'a@test', recipient: 'b@test' }), accepted)).toBeUndefined();
  });

  it('per-stage delays apply to their stages, "greeting" naming the connect stage', () => {
    const policy = policyOf(behaviour({ delay: { greeting: 1000, rcpt: [5, 10] } })) as StagePolicy;
    const rcpt = policy.decide(stageContext('rcpt', { sender: 'a@test', recipient: 'b@test' }), accepted)?.delayMs;

    expect(policy.decide(stageContext('connect'), accepted)).toEqual({
      delayMs: 1000,
      decidedBy: 'delay 1000 ms (option delay)',
    });
    expect(rcpt).toBeGreaterThanOrEqual(5);
    expect(rcpt).toBeLessThanOrEqual(10);
    expect(policy.decide(stageContext('message', { sender: 'a@test' }), accepted)).toBeUndefined();
  });

  it('a per-listener delay overrides the sink-wide one for its stage and keeps the others', () => {
    const policy = policyOf(
      behaviour({ tls: 'implicit', delay: { greeting: 100, message: 200 }, listeners: { smtps: { delay: 900 } } }),
    ) as StagePolicy;

    expect(policy.decide(stageContext('connect', { listener: 'smtps' }), accepted)).toEqual({
      delayMs: 100,
      decidedBy: 'delay 100 ms (option delay)',
    });
    expect(policy.decide(stageContext('message', { sender: 'a@test', listener: 'smtps' }), accepted)).toEqual({
      delayMs: 900,
      decidedBy: 'delay 900 ms',
    });
    expect(policy.decide(stageContext('message', { sender: 'a@test', listener: 'smtp' }), accepted)).toEqual({
      delayMs: 200,
      decidedBy: 'delay 200 ms',
    });
  });
});

describe('faults and the configured behaviour together', () => {
  it('a fault that only delays leaves the reply to the mode, and its wait adds to the configured delay', () => {
    const b = behaviour({ mode: 'bounce', delay: 100 });
    b.faults.delay('message', 400);
    const decision = (policyOf(b) as StagePolicy).decide(stageContext('message', { sender: 'a@test' }), accepted);

    expect(bounceReplies).toContain(decision?.reply);
    expect(decision?.delayMs).toBe(500);
    expect(decision?.fault?.action).toBe('delay 400 ms');
  });

  it('a fault that replies wins over the mode', () => {
    const b = behaviour({ mode: 'random', acceptRatio: 1 });
    b.faults.failNext(452);

    expect(
      (policyOf(b) as StagePolicy).decide(stageContext('message', { sender: 'a@test' }), accepted)?.reply?.code,
    ).toBe(452);
  });
});

describe('the fast path', () => {
  it('a sink with no behaviour gives its sessions no policy at all', () => {
    expect(policyOf(behaviour({}))).toBeUndefined();
    expect(policyOf(behaviour({ mode: 'accept', headerSwitches: false }))).toBeUndefined();
  });

  it('a fault rule turns the policy on, and removing the last rule turns it off again', () => {
    const b = behaviour({});
    const target: PolicyTarget = { policy: undefined };
    b.attach(target);

    const rule = b.faults.failNext();
    const during = target.policy;
    rule.remove();

    expect(during).toBeDefined();
    expect(target.policy).toBeUndefined();
  });

  it('a bare sink reads header switches only when told to', () => {
    expect(policyOf(behaviour({ headerSwitches: true }))?.wantsHeaders).toBe(true);
    expect(policyOf(behaviour({ mode: 'bounce' }))?.wantsHeaders).toBe(true);
    expect(policyOf(behaviour({ mode: 'bounce', headerSwitches: false }))?.wantsHeaders).toBe(false);
  });
});

describe('behaviour options', () => {
  it.each([
    [{ mode: 'drop' }, /option "mode" must be "accept", "bounce" \(one of 450, 451/],
    [{ acceptRatio: 1.5 }, /option "acceptRatio" must be a number from 0 to 1/],
    [{ seed: -1 }, /option "seed" must be a whole number from 0 to 4294967295/],
    [{ delay: -5 }, /option "delay" must be whole milliseconds/],
    [{ delay: [500, 100] }, /option "delay" must be whole milliseconds .* min <= max/],
    [{ delay: { helo: 10, dot: 5 } }, /option "delay" has an unknown stage "dot"/],
    [{ headerSwitches: 'yes' }, /option "headerSwitches" must be true or false/],
    [{ listeners: { submission: {} } }, /option "listeners" has an unknown listener "submission"/],
    [{ listeners: { smtp: { mode: 'drop' } } }, /option "listeners.smtp.mode" must be/],
    [{ listeners: { smtp: { delay: 'slow' } } }, /option "listeners.smtp.delay" must be/],
    [{ faults: [{ stage: 'rcpt', action: 'boom' }] }, /option "faults\[0\]": fault rule "faults\[0\]": "action"/],
    [
      {
        faults: [
          { name: 'x', stage: 'rcpt', action: '451' },
          { name: 'x', stage: 'mail', action: '451' },
        ],
      },
      /option "faults\[1\]" reuses the name "x"/,
    ],
    [{ auth: { users: { alice: 42 } } }, /option "auth.users" must map each user to a string password; "alice"/],
    [{ auth: { mechanisms: ['DIGEST-MD5'] } }, /option "auth.mechanisms" must be a non-empty list of PLAIN/],
    [{ auth: { requireTls: true } }, /option "auth.requireTls" needs TLS/],
    [{ auth: { realm: 'x' } }, /option "auth.realm" is unknown/],
    [{ auth: false, requireAuth: true }, /option "requireAuth" needs AUTH/],
  ])('%j is refused with an error naming the option', (options, message) => {
    expect(() => resolveOptions(options as SinkOptions)).toThrow(message);
  });

  it('an error about a bad password entry never shows the password', () => {
    expect(() => resolveOptions({ auth: { users: { alice: { secret: 'hunter2' } as unknown as string } } })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
  });

  it('the seed of a sink is reported, and a given seed is kept', async () => {
    const given = await startSink({ seed: 1234 });
    const drawn = await startSink({ mode: 'random' });
    try {
      expect(given.seed).toBe(1234);
      expect(Number.isInteger(drawn.seed)).toBe(true);
      expect(drawn.describe()).toContain(`Random choices used seed ${drawn.seed} (option seed).`);
    } finally {
      await Promise.all([given.close(), drawn.close()]);
    }
  });
});
