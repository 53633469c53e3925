import { describe, expect, it } from 'vitest';
import { type FaultRule, FaultRuleError, FaultRules, faultRule } from '../src/behaviour/faults.js';
import { replies } from '../src/protocol/replies.js';
import { stageContext } from './behaviour-context.js';

const proposedAt = { message: replies.accepted('ID'), rcpt: replies.recipientOk } as const;

/** Decides `times` messages in a row and returns the reply code each got (250 when no rule fired). */
function codes(rules: FaultRules, times: number, context = stageContext('message', { sender: 'a@test' })): number[] {
  const out: number[] = [];
  for (let i = 0; i < times; i++) out.push(rules.decide(context)?.reply?.code ?? proposedAt.message.code);
  return out;
}

describe('fault rules: matching', () => {
  it('a rule with no match fires every time its stage is reached, and only at that stage', () => {
    const rules = new FaultRules(1);
    rules.add({ stage: 'mail', action: '451' });

    expect(rules.decide(stageContext('mail', { sender: 'a@test' }))?.reply?.code).toBe(451);
    expect(rules.decide(stageContext('mail', { sender: 'b@test' }))?.reply?.code).toBe(451);
    expect(rules.decide(stageContext('rcpt', { sender: 'a@test', recipient: 'x@test' }))).toBeUndefined();
  });

  it('nth fires only on the nth time the stage is reached', () => {
    const rules = new FaultRules(1);
    rules.add({ stage: 'message', match: { nth: 3 }, action: '452' });

    expect(codes(rules, 5)).toEqual([250, 250, 452, 250, 250]);
  });

  it('first fires on the first k times, then never', () => {
    const rules = new FaultRules(1);
    rules.add({ stage: 'message', match: { first: 2 }, action: '421' });

    expect(codes(rules, 4)).toEqual([421, 421, 250, 250]);
  });

  it('a probability fires on about that share, and the same seed fires on exactly the same messages', () => {
    const run = (seed: number): number[] => {
      const rules = new FaultRules(seed);
      rules.add({ name: 'flaky', stage: 'message', match: { probability: 0.3 }, action: '451' });
      return codes(rules, 200);
    };

    const first = run(1234);
    expect(run(1234)).toEqual(first);
    expect(run(4321)).not.toEqual(first);
    const fired = first.filter((c) => c === 451).length;
    expect(fired).toBeGreaterThan(30);
    expect(fired).toBeLessThan(90);
  });

  it('a sender glob matches case-insensitively and whole addresses only', () => {
    const rules = new FaultRules(1);
    rules.add({ stage: 'mail', match: { sender: '*@Blocked.test' }, action: '550 5.7.1 Sender blocked' });

    expect(rules.decide(stageContext('mail', { sender: 'anyone@blocked.TEST' }))?.reply?.text).toBe('Sender blocked');
    expect(rules.decide(stageContext('mail', { sender: 'anyone@blocked.test.example' }))).toBeUndefined();
    expect(rules.decide(stageContext('mail', { sender: 'anyone@other.test' }))).toBeUndefined();
  });

  it('a recipient pattern given as a RegExp, or as a "/…/" string in JSON, matches the recipient being decided', () => {
    const rules = new FaultRules(1);
    rules.add({ stage: 'rcpt', match: { recipient: /^full-\d+@/ }, action: '552' });
    rules.add({ stage: 'rcpt', match: { recipient: '/^gone-[a-z]+@/i' }, action: '550' });
    const rcpt = (to: string) => rules.decide(stageContext('rcpt', { sender: 's@test', recipient: to }))?.reply?.code;

    expect(rcpt('full-12@test')).toBe(552);
    expect(rcpt('GONE-bob@test')).toBe(550);
    expect(rcpt('bob@test')).toBeUndefined();
  });

  it('a recipient pattern at stage message matches when any recipient of the transaction matches', () => {
    const rules = new FaultRules(1);
    rules.add({ stage: 'message', match: { recipient: '*@slow.test' }, action: '451' });

    const hit = stageContext('message', { sender: 's@test', recipients: ['a@fast.test', 'b@slow.test'] });
    const miss = stageContext('message', { sender: 's@test', recipients: ['a@fast.test'] });
    expect(rules.decide(hit)?.reply?.code).toBe(451);
    expect(rules.decide(miss)).toBeUndefined();
  });

  it('a header condition matches the header section of the message, by name and value substring', () => {
    const rules = new FaultRules(1);
    rules.add({ stage: 'message', match: { header: 'X-Test-Case: fail' }, action: '554' });
    const message = (headers: string) => stageContext('message', { sender: 's@test', headers });

    expect(rules.needsHeaders).toBe(true);
    expect(rules.decide(message('Subject: hi\r\nx-test-case: must-fail-now\r\n\r\n'))?.reply?.code).toBe(554);
    expect(rules.decide(message('Subject: hi\r\nX-Test-Case: pass\r\n\r\n'))).toBeUndefined();
    expect(rules.decide(message('Subject: X-Test-Case: fail\r\n\r\n'))).toBeUndefined();
  });

  it('a listener condition limits the rule to connections of that listener', () => {
    const rules = new FaultRules(1);
    rules.add({ stage: 'connect', match: { listener: 'smtps' }, action: 'disconnect' });

    expect(rules.decide(stageContext('connect', { listener: 'smtp' }))).toBeUndefined();
    expect(rules.decide(stageContext('connect', { listener: 'smtps' }))).toMatchObject({
      reply: { code: 421 },
      then: 'close',
    });
  });

  it('greylisting refuses the first attempt of each sender/recipient pair and passes the retry', () => {
    const rules = new FaultRules(1);
    rules.greylist();
    const rcpt = (from: string, to: string) =>
      rules.decide(stageContext('rcpt', { sender: from, recipient: to }))?.reply;

    expect(rcpt('a@test', 'x@test')).toMatchObject({ code: 451, enhanced: '4.7.1' });
    expect(rcpt('a@test', 'y@test')).toMatchObject({ code: 451, enhanced: '4.7.1' });
    expect(rcpt('a@test', 'x@test')).toBeUndefined();
    expect(rcpt('b@test', 'x@test')).toMatchObject({ code: 451 });
  });

  it('greylisting with retryAfterMs keeps refusing retries that come too soon', () => {
    const rules = new FaultRules(1);
    rules.greylist({ retryAfterMs: 60_000 });
    const rcpt = () => rules.decide(stageContext('rcpt', { sender: 'a@test', recipient: 'x@test' }))?.reply?.code;

    expect([rcpt(), rcpt(), rcpt()]).toEqual([451, 451, 451]);
  });

  it('an in-process when() condition that throws simply does not match', () => {
    const rules = new FaultRules(1);
    rules.add({
      stage: 'mail',
      match: {
        when: () => {
          throw new Error('bug in the test');
        },
      },
      action: '451',
    });

    expect(rules.decide(stageContext('mail', { sender: 'a@test' }))).toBeUndefined();
  });
});

describe('fault rules: actions', () => {
  const decide = (action: FaultRule['action'], stage: FaultRule['stage'] = 'message') => {
    const rules = new FaultRules(1);
    rules.add({ stage, action });
    return rules.decide(stageContext(stage === 'greeting' ? 'connect' : (stage as 'message'), { sender: 'a@test' }));
  };

  it('a reply with only a code gets the standard enhanced code and text', () => {
    expect(decide('451')?.reply).toEqual({
      code: 451,
      enhanced: '4.3.0',
      text: 'Requested action aborted: local error in processing',
    });
  });

  it('a reply given in full keeps its enhanced code and text', () => {
    expect(decide({ type: 'reply', code: 554, enhanced: '5.7.1', text: 'Spam detected' })?.reply).toEqual({
      code: 554,
      enhanced: '5.7.1',
      text: 'Spam detected',
    });
  });

  it('421 closes the connection after the reply, as RFC 5321 requires', () => {
    expect(decide('421 4.4.5 Too busy')).toMatchObject({ reply: { code: 421, enhanced: '4.4.5' }, then: 'close' });
    expect(decide('disconnect', 'greeting')).toMatchObject({ reply: { code: 421 }, then: 'close' });
  });

  it('close drops the connection without a reply, reset with a TCP RST', () => {
    expect(decide('close')).toMatchObject({ then: 'silent-close' });
    expect(decide('close')?.reply).toBeUndefined();
    expect(decide('reset')).toMatchObject({ then: 'reset' });
  });

  it('delay, throttle and stall keep the reply and add their effect', () => {
    expect(decide({ type: 'delay', ms: 1500 })).toMatchObject({ delayMs: 1500 });
    expect(decide({ type: 'delay', ms: 1500 })?.reply).toBeUndefined();
    expect(decide({ type: 'throttle', bytesPerSecond: 512 }, 'connect')).toMatchObject({ throttleBytesPerSecond: 512 });
    expect(decide({ type: 'stall', afterBytes: 100 }, 'data')).toMatchObject({ stallAfterBytes: 100 });
  });

  it('a delay range draws within its bounds', () => {
    const rules = new FaultRules(9);
    rules.add({ stage: 'rcpt', action: { type: 'delay', ms: [100, 200] } });
    const delays = Array.from(
      { length: 50 },
      () => rules.decide(stageContext('rcpt', { sender: 'a@test', recipient: 'b@test' }))?.delayMs as number,
    );

    expect(Math.min(...delays)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...delays)).toBeLessThanOrEqual(200);
    expect(new Set(delays).size).toBeGreaterThan(1);
  });

  it('each firing carries a record of the rule, stage and action', () => {
    const rules = new FaultRules(1);
    rules.add({ name: 'busy', stage: 'message', action: '452' });

    expect(rules.decide(stageContext('message', { sender: 'a@test' }))?.fault).toMatchObject({
      rule: 'busy',
      stage: 'message',
      action: 'reply 452 4.3.1 Requested action not taken: insufficient system storage',
    });
  });
});

describe('fault rules: lifetime and bookkeeping', () => {
  it('times: 1 fires once and then removes itself', () => {
    const rules = new FaultRules(1);
    const handle = rules.add({ stage: 'message', action: '451', times: 1 });

    expect(codes(rules, 3)).toEqual([451, 250, 250]);
    expect(handle.fired).toBe(1);
    expect(handle.active).toBe(false);
    expect(rules.size).toBe(0);
  });

  it('failNext(code, { count }) fails exactly the next count messages', () => {
    const rules = new FaultRules(1);
    rules.failNext(554, { count: 2, text: 'Rejected by the test' });

    expect(codes(rules, 4)).toEqual([554, 554, 250, 250]);
  });

  it('a removed rule stops firing at once', () => {
    const rules = new FaultRules(1);
    const handle = rules.failNext(451, { count: 100 });
    const before = codes(rules, 1);
    handle.remove();

    expect([...before, ...codes(rules, 1)]).toEqual([451, 250]);
    expect(rules.list()).toEqual([]);
  });

  it('rules are tried in the order they were added; the first that fires decides', () => {
    const rules = new FaultRules(1);
    rules.add({ stage: 'message', match: { first: 1 }, action: '452' });
    rules.add({ stage: 'message', action: '550' });

    expect(codes(rules, 2)).toEqual([452, 550]);
  });

  it('clear() removes every rule and keeps the record of what fired', () => {
    const rules = new FaultRules(1);
    rules.failNext(451);
    rules.bounceRecipient('x@test');
    codes(rules, 1);
    rules.clear();

    expect(rules.size).toBe(0);
    expect(rules.fired().map((f) => f.stage)).toEqual(['message']);
  });

  it('fired() lists each firing with the connection, sender and recipient, filterable by rule and stage', () => {
    const rules = new FaultRules(1);
    rules.add({ name: 'bounce-x', stage: 'rcpt', match: { recipient: 'x@test' }, action: '550' });
    rules.add({ name: 'fail', stage: 'message', action: '451' });
    rules.decide(stageContext('rcpt', { sender: 'a@test', recipient: 'x@test', connectionId: 4 }));
    rules.decide(stageContext('message', { sender: 'a@test', connectionId: 4 }));

    expect(rules.fired({ rule: 'bounce-x' })).toEqual([
      expect.objectContaining({ stage: 'rcpt', connectionId: 4, sender: 'a@test', recipient: 'x@test' }),
    ]);
    expect(rules.fired({ stage: 'message' }).map((f) => f.rule)).toEqual(['fail']);
  });

  it('the change callback tells the sink whenever the set of rules changes', () => {
    const sizes: number[] = [];
    const rules: FaultRules = new FaultRules(1, () => sizes.push(rules.size));
    const handle = rules.add({ stage: 'message', action: '451', times: 1 });
    codes(rules, 1);
    handle.remove();
    rules.add({ stage: 'rcpt', action: '550' });
    rules.clear();

    expect(sizes).toEqual([1, 0, 1, 0]);
  });
});

describe('fault rules as JSON (the control API form)', () => {
  it('list() is plain JSON that add() accepts back to make the same rule', () => {
    const rules = new FaultRules(1);
    rules.add({
      name: 'complex',
      stage: 'rcpt',
      match: { sender: '*@app.test', recipient: /^bounce-/i, first: 3, probability: 0.5 },
      action: { type: 'reply', code: 550, text: 'No such user', delayMs: [10, 20] },
      times: 5,
    });
    const json = JSON.parse(JSON.stringify(rules.list()));
    const { fired, remaining, ...rule } = json[0];
    const copy = new FaultRules(1);
    copy.add(rule);

    expect(fired).toBe(0);
    expect(remaining).toBe(5);
    expect(copy.list()).toEqual(json);
    expect(rule.match.recipient).toBe('/^bounce-/i');
  });

  it('the short-form builders make plain JSON rules, a RegExp written as a "/…/" string', () => {
    const rule = faultRule.bounceRecipient(/^gone-/i, 552);

    expect(JSON.parse(JSON.stringify(rule))).toEqual({
      stage: 'rcpt',
      match: { recipient: '/^gone-/i' },
      action: { type: 'reply', code: 552 },
    });
    expect(new FaultRules(1).add(rule).name).toBe('fault-1');
  });

  it('the short forms are JSON too: a reply string becomes a reply action', () => {
    const rules = new FaultRules(1);
    rules.add({ stage: 'greeting', action: '554 5.3.2 No service today' });

    expect(rules.list()[0]).toMatchObject({
      stage: 'connect',
      action: { type: 'reply', code: 554, enhanced: '5.3.2', text: 'No service today' },
    });
  });

  it.each([
    [{ stage: 'dot', action: '451' }, /"stage" must be one of "greeting"/],
    [{ stage: 'rcpt', action: '45' }, /"action" as a string must be a reply/],
    [{ stage: 'rcpt', action: { type: 'explode' } }, /"action.type" must be "reply"/],
    [{ stage: 'rcpt', action: { type: 'reply', code: 251, enhanced: '4.0.0' } }, /different class/],
    [{ stage: 'message', action: '354' }, /must be 2xx, 4xx or 5xx/],
    [{ stage: 'rcpt', match: { header: 'X-Test' }, action: '451' }, /"match.header" needs stage "message"/],
    [{ stage: 'mail', match: { greylist: true }, action: '451' }, /"match.greylist" needs stage "rcpt"/],
    [{ stage: 'rcpt', match: { nth: 1, first: 2 }, action: '451' }, /takes "nth" or "first", not both/],
    [{ stage: 'rcpt', match: { probability: 2 }, action: '451' }, /"match.probability" must be from 0 to 1/],
    [{ stage: 'rcpt', match: { recipient: '/(/' }, action: '451' }, /"match.recipient" cannot be used/],
    [{ stage: 'rcpt', match: { color: 'red' }, action: '451' }, /"match.color" is not a condition/],
    [{ stage: 'rcpt', action: '451', times: 0 }, /"times" must be a whole number >= 1/],
    [{ stage: 'rcpt', action: '451', lifetime: 'once' }, /"lifetime" is not a field of a fault rule/],
    [{ stage: 'rcpt', action: { type: 'throttle', bytesPerSecond: 0 } }, /"action.bytesPerSecond" must be/],
  ])('a bad rule is refused with a FaultRuleError naming the field: %j', (rule, message) => {
    const rules = new FaultRules(1);
    let error: unknown;
    try {
      rules.add(rule as FaultRule);
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(FaultRuleError);
    expect((error as Error).message).toMatch(message);
    expect(rules.size).toBe(0);
  });

  it('a second rule with a name already in use is refused', () => {
    const rules = new FaultRules(1);
    rules.add({ name: 'one', stage: 'rcpt', action: '451' });

    expect(() => rules.add({ name: 'one', stage: 'mail', action: '451' })).toThrow(/a rule named "one" already exists/);
  });
});
