import { describe, expect, it } from 'vitest';
import { type Reply, reply } from '../src/protocol/reply.js';
import type { Decision, FiredFault, StageContext, StagePolicy } from '../src/protocol/types.js';
import { Client, code, codes, deliveries, replies, types } from './protocol-harness.js';

type Rule = (context: StageContext, proposed: Reply) => Decision | undefined;

/** A policy that asks `rule` at every stage and keeps each context it saw. */
function policy(rule: Rule, wantsHeaders = false): StagePolicy & { seen: StageContext[] } {
  const seen: StageContext[] = [];
  return {
    seen,
    wantsHeaders,
    decide(context, proposed) {
      seen.push(context);
      return rule(context, proposed);
    },
  };
}

const fault = (stage: FiredFault['stage'], action: string): FiredFault => ({ rule: 'test', stage, action, at: 1 });
const rejected = reply(550, '5.1.1', 'No such user here');
const tempFail = reply(451, '4.3.0', 'Try again later');

describe('stage policy', () => {
  it('asks the policy at every stage with the proposed reply', () => {
    const p = policy(() => undefined);
    const c = new Client({ policy: p }).transaction();
    c.send('DATA\r\nx\r\n.\r\nRSET\r\nQUIT\r\n');
    expect(p.seen.map((s) => s.stage)).toEqual(['connect', 'helo', 'mail', 'rcpt', 'data', 'message', 'rset', 'quit']);
  });

  it('replaces the reply of a stage with the policy reply', () => {
    const c = new Client({ policy: policy((ctx) => (ctx.stage === 'mail' ? { reply: tempFail } : undefined)) }).ready();
    expect(c.codes('MAIL FROM:<a@b.c>\r\n')).toEqual(['451 4.3.0']);
    expect(c.observer.of('transactionStarted')).toEqual([]);
    expect(c.observer.of('refused').map((e) => [e.command, code(e.reply)])).toEqual([['MAIL', '451 4.3.0']]);
    expect(c.codes('RCPT TO:<a@b.c>\r\n')).toEqual(['503 5.5.1']);
  });

  it('refuses a recipient the policy rejects and reports it as rejected', () => {
    const p = policy((ctx) =>
      ctx.stage === 'rcpt' && ctx.recipient === 'bad@x.org' ? { reply: rejected } : undefined,
    );
    const c = new Client({ policy: p }).ready();
    const out = c.send('MAIL FROM:<a@b.c>\r\nRCPT TO:<bad@x.org>\r\nRCPT TO:<good@x.org>\r\nDATA\r\nx\r\n.\r\n');
    expect(codes(out)).toEqual(['250 2.1.0', '550 5.1.1', '250 2.1.5', '354', '250 2.0.0']);
    expect(c.observer.of('recipient').map((e) => [e.address, e.accepted])).toEqual([
      ['bad@x.org', false],
      ['good@x.org', true],
    ]);
    expect(deliveries(out)[0]).toMatchObject({ recipients: ['good@x.org'] });
    expect(deliveries(out)[0]?.rejectedRecipients.map((r) => r.address)).toEqual(['bad@x.org']);
  });

  it('answers DATA with 554 5.5.1 when every recipient was refused', () => {
    const c = new Client({ policy: policy((ctx) => (ctx.stage === 'rcpt' ? { reply: rejected } : undefined)) }).ready();
    expect(c.codes('MAIL FROM:<a@b.c>\r\nRCPT TO:<a@x.org>\r\nDATA\r\n')).toEqual([
      '250 2.1.0',
      '550 5.1.1',
      '554 5.5.1',
    ]);
  });

  it('delivers a refused message as not accepted, with the policy reply', () => {
    const c = new Client({ policy: policy((ctx) => (ctx.stage === 'message' ? { reply: rejected } : undefined)) });
    c.transaction();
    const out = c.send('DATA\r\nx\r\n.\r\n');
    expect(codes(out)).toEqual(['354', '550 5.1.1']);
    expect(deliveries(out)[0]).toMatchObject({ accepted: false, reply: rejected });
    expect(c.observer.of('refused').map((e) => e.command)).toEqual(['DATA']);
  });

  it('puts a delay before the reply it delays', () => {
    const c = new Client({ policy: policy((ctx) => (ctx.stage === 'rcpt' ? { delayMs: 1500 } : undefined)) }).ready();
    const out = c.send('MAIL FROM:<a@b.c>\r\nRCPT TO:<a@x.org>\r\nNOOP\r\n');
    expect(
      out.map((o) => (o.type === 'reply' ? code(o.reply) : o.type === 'delay' ? `delay ${o.ms}` : o.type)),
    ).toEqual(['250 2.1.0', 'delay 1500', '250 2.1.5', '250 2.0.0']);
  });

  it('closes after the reply on then: close', () => {
    const c = new Client({
      policy: policy((ctx) => (ctx.stage === 'helo' ? { reply: tempFail, then: 'close' } : undefined)),
    });
    c.open();
    const out = c.send('EHLO a\r\nNOOP\r\n');
    expect(types(out)).toEqual(['reply', 'close']);
    expect(codes(out)).toEqual(['451 4.3.0']);
    expect(c.session.closed).toBe(true);
  });

  it('resets the connection without a reply on then: reset', () => {
    const c = new Client({ policy: policy((ctx) => (ctx.stage === 'mail' ? { then: 'reset' } : undefined)) }).ready();
    expect(types(c.send('MAIL FROM:<a@b.c>\r\nNOOP\r\n'))).toEqual(['reset']);
    expect(c.session.closed).toBe(true);
  });

  it('closes without a reply on then: silent-close', () => {
    const c = new Client({ policy: policy((ctx) => (ctx.stage === 'message' ? { then: 'silent-close' } : undefined)) });
    c.transaction();
    const out = c.send('DATA\r\nx\r\n.\r\n');
    expect(types(out)).toEqual(['reply', 'close']);
    expect(codes(out)).toEqual(['354']);
    expect(deliveries(out)).toEqual([]);
  });

  it('records a fired fault with the observer and with the delivery', () => {
    const fired = fault('message', 'reply 451');
    const c = new Client({
      policy: policy((ctx) => (ctx.stage === 'message' ? { reply: tempFail, fault: fired } : undefined)),
    }).transaction();
    const out = c.send('DATA\r\nx\r\n.\r\n');
    expect(c.observer.of('fault').map((e) => e.fault)).toEqual([fired]);
    expect(deliveries(out)[0]?.faults).toEqual([fired]);
  });

  it('keeps faults of the transaction stages with the delivery, and not with the next one', () => {
    const rcptFault = fault('rcpt', 'delay');
    const c = new Client({
      policy: policy((ctx) => (ctx.stage === 'rcpt' ? { delayMs: 1, fault: rcptFault } : undefined)),
    }).transaction();
    const first = deliveries(c.send('DATA\r\nx\r\n.\r\n'))[0];
    expect(first?.faults).toEqual([rcptFault]);
    const second = deliveries(c.send('MAIL FROM:<a@b.c>\r\nBDAT 1 LAST\r\nx'));
    expect(second).toEqual([]);
  });

  it('passes throttle and stall on to the connection', () => {
    const c = new Client({
      policy: policy((ctx) =>
        ctx.stage === 'data' ? { throttleBytesPerSecond: 100, stallAfterBytes: 50 } : undefined,
      ),
    }).transaction();
    expect(c.send('DATA\r\n')).toEqual([
      { type: 'throttle', bytesPerSecond: 100 },
      { type: 'stall', afterBytes: 50 },
      expect.objectContaining({ type: 'reply' }),
    ]);
  });

  it('refuses every command but QUIT with 503 after a refusing greeting', () => {
    const c = new Client({
      policy: policy((ctx) => (ctx.stage === 'connect' ? { reply: reply(554, '5.3.2', 'No service') } : undefined)),
    });
    c.session.start();
    expect(codes(c.take())).toEqual(['554 5.3.2']);
    expect(c.codes('EHLO a\r\nMAIL FROM:<a@b.c>\r\nQUIT\r\n')).toEqual(['503 5.5.1', '503 5.5.1', '221 2.0.0']);
  });

  it('reads every BDAT chunk past after a refusing greeting instead of running its octets', () => {
    const c = new Client({
      policy: policy((ctx) => (ctx.stage === 'connect' ? { reply: reply(554, '5.3.2', 'No service') } : undefined)),
    });
    c.open();
    expect(c.codes('BDAT 6\r\nQUIT\r\nNOOP\r\n')).toEqual(['503 5.5.1', '503 5.5.1']);
    expect(c.session.closed).toBe(false);
  });

  it('says why every command is refused after a refusing greeting', () => {
    const c = new Client({
      policy: policy((ctx) => (ctx.stage === 'connect' ? { reply: reply(554, '5.3.2', 'No service') } : undefined)),
    });
    c.open();
    expect(String(c.reply('EHLO a\r\n').text)).toMatch(/refused at the greeting; send QUIT/);
  });

  it('finds the same header section for every split of the message', () => {
    const message = 'A: 1\r\nB: 2\r\n\r\nbody\n\nmore\r\n.\r\n';
    for (let cut = 0; cut <= message.length; cut++) {
      const p = policy(() => undefined, true);
      const c = new Client({ policy: p }).transaction();
      c.sendSplit(['DATA\r\n', message.slice(0, cut), message.slice(cut)]);
      const headers = p.seen.find((s) => s.stage === 'message')?.headers?.toString();
      expect({ cut, headers }).toEqual({ cut, headers: 'A: 1\r\nB: 2\r\n' });
    }
  });

  it('hands an empty header section for a message that starts with an empty line', () => {
    const p = policy(() => undefined, true);
    const c = new Client({ policy: p }).transaction();
    c.send('DATA\r\n\r\nbody\r\n.\r\n');
    expect(p.seen.find((s) => s.stage === 'message')?.headers?.length).toBe(0);
  });

  it('hands the message stage the header section when the policy wants headers', () => {
    const p = policy(() => undefined, true);
    const c = new Client({ policy: p }).transaction();
    const out = c.sendSplit(['DATA\r\nSubject: a\r\nX-Test: 1\r', '\n\r', '\nbody\r\n\r\nmore\r\n.\r\n']);
    const message = p.seen.find((s) => s.stage === 'message');
    expect(message?.headers?.toString()).toBe('Subject: a\r\nX-Test: 1\r\n');
    expect(deliveries(out)[0]?.headers?.toString()).toBe('Subject: a\r\nX-Test: 1\r\n');
  });

  it('ends the header section at the first empty line, CRLF or bare LF', () => {
    const p = policy(() => undefined, true);
    const c = new Client({ policy: p }).transaction();
    c.send('DATA\r\nA: 1\n\nbody\r\n\r\nmore\r\n.\r\n');
    expect(p.seen.find((s) => s.stage === 'message')?.headers?.toString()).toBe('A: 1\n');
  });

  it('sees the transaction in the message stage context', () => {
    const p = policy(() => undefined);
    const c = new Client({ policy: p }).transaction(['r@x.org']);
    c.send('DATA\r\nabc\r\n.\r\n');
    const message = p.seen.find((s) => s.stage === 'message');
    expect(message?.transaction).toMatchObject({ sender: 'sender@example.com', size: 5 });
  });
});

describe('LMTP', () => {
  it('answers the end of data once per accepted recipient, in RCPT order', () => {
    const c = new Client({ lmtp: true }).transaction(['a@x.org', 'b@x.org', 'c@x.org']);
    const out = c.send('DATA\r\nhi\r\n.\r\n');
    expect(codes(out)).toEqual(['354', '250 2.0.0', '250 2.0.0', '250 2.0.0']);
    const all = deliveries(out);
    expect(all).toHaveLength(1);
    expect(out.at(-1)).toMatchObject({ type: 'reply', delivery: all[0] });
  });

  it('lets the policy decide each recipient and records the per-recipient replies', () => {
    const p = policy((ctx) =>
      ctx.stage === 'message' && ctx.recipient === 'b@x.org' ? { reply: rejected } : undefined,
    );
    const c = new Client({ lmtp: true, policy: p }).transaction(['a@x.org', 'b@x.org']);
    const out = c.send('DATA\r\nhi\r\n.\r\n');
    expect(codes(out)).toEqual(['354', '250 2.0.0', '550 5.1.1']);
    const [delivery] = deliveries(out);
    expect(delivery).toMatchObject({ accepted: true, recipients: ['a@x.org'] });
    expect(delivery?.lmtpReplies?.map((r) => [r.address, code(r.reply)])).toEqual([
      ['a@x.org', '250 2.0.0'],
      ['b@x.org', '550 5.1.1'],
    ]);
  });

  it('counts a message no recipient accepted as not accepted and reports the refusal', () => {
    const p = policy((ctx) => (ctx.stage === 'message' ? { reply: tempFail } : undefined));
    const c = new Client({ lmtp: true, policy: p }).transaction(['a@x.org', 'b@x.org']);
    const out = c.send('DATA\r\nhi\r\n.\r\n');
    expect(codes(out)).toEqual(['354', '451 4.3.0', '451 4.3.0']);
    expect(deliveries(out)[0]?.accepted).toBe(false);
    expect(c.observer.of('refused').map((e) => e.command)).toContain('DATA');
  });

  it('closes the connection when a per-recipient decision says close', () => {
    const p = policy((ctx) => (ctx.stage === 'message' ? { reply: tempFail, then: 'close' } : undefined));
    const c = new Client({ lmtp: true, policy: p }).transaction(['a@x.org', 'b@x.org']);
    const out = c.send('DATA\r\nhi\r\n.\r\nNOOP\r\n');
    expect(types(out)).toEqual(['reply', 'reply', 'close']);
    expect(c.session.closed).toBe(true);
  });

  it("puts a per-recipient delay right before that recipient's reply", () => {
    const p = policy((ctx) => (ctx.stage === 'message' && ctx.recipient === 'b@x.org' ? { delayMs: 700 } : undefined));
    const c = new Client({ lmtp: true, policy: p }).transaction(['a@x.org', 'b@x.org', 'c@x.org']);
    const out = c.send('DATA\r\nhi\r\n.\r\n');
    expect(out.map((o) => (o.type === 'reply' ? code(o.reply) : o.type))).toEqual([
      '354',
      '250 2.0.0',
      'delay',
      '250 2.0.0',
      '250 2.0.0',
    ]);
    expect(out.at(-1)).toMatchObject({ delivery: { accepted: true } });
  });

  it('keeps the replies given before a per-recipient reset and records the delivery with them', () => {
    const p = policy((ctx) => (ctx.stage === 'message' && ctx.recipient === 'b@x.org' ? { then: 'reset' } : undefined));
    const c = new Client({ lmtp: true, policy: p }).transaction(['a@x.org', 'b@x.org']);
    const out = c.send('DATA\r\nhi\r\n.\r\n');
    expect(out.map((o) => (o.type === 'reply' ? code(o.reply) : o.type))).toEqual(['354', '250 2.0.0', 'reset']);
    expect(deliveries(out)[0]).toMatchObject({ accepted: true, recipients: ['a@x.org'] });
  });

  it('answers BDAT LAST once per recipient too', () => {
    const c = new Client({ lmtp: true }).transaction(['a@x.org', 'b@x.org']);
    expect(c.codes('BDAT 2 LAST\r\nhi')).toEqual(['250 2.0.0', '250 2.0.0']);
  });

  it('refuses DATA without an accepted recipient, even in lenient mode', () => {
    const c = new Client({ lmtp: true, lenient: true }).ready('LHLO');
    expect(c.codes('MAIL FROM:<a@b.c>\r\nDATA\r\n')).toEqual(['250 2.1.0', '503 5.5.1']);
  });
});

describe('observer events and the delivery', () => {
  it('reports transaction, recipients and writer in order', () => {
    const c = new Client().ready();
    c.send('MAIL FROM:<s@x.org>\r\nRCPT TO:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nx\r\n.\r\n');
    expect(c.observer.events.map((e) => e.type)).toEqual([
      'transactionStarted',
      'recipient',
      'recipient',
      'messageWriter',
    ]);
  });

  it('reports refused commands with their reply', () => {
    const c = new Client().ready();
    c.send('RCPT TO:<a@x.org>\r\nFROB\r\n');
    expect(c.observer.of('refused').map((e) => [e.command, code(e.reply)])).toEqual([
      ['RCPT', '503 5.5.1'],
      ['FROB', '500 5.5.2'],
    ]);
  });

  it('attaches the delivery to the final reply with envelope, size, via and the id from the reply text', () => {
    const c = new Client({ nextDeliveryId: () => 'ID-42' }).ready();
    const out = c.send('MAIL FROM:<s@x.org> BODY=8BITMIME\r\nRCPT TO:<a@x.org>\r\nDATA\r\nabc\r\n.\r\n');
    const final = out.at(-1);
    expect(final?.type).toBe('reply');
    const delivery = final?.type === 'reply' ? final.delivery : undefined;
    expect(delivery).toMatchObject({
      id: 'ID-42',
      accepted: true,
      sender: 's@x.org',
      recipients: ['a@x.org'],
      size: 5,
      body: '8BITMIME',
      via: 'DATA',
      heloName: 'client.test',
      connection: { id: 7 },
      faults: [],
    });
    expect(String(replies(out).at(-1)?.text)).toContain('ID-42');
    expect(delivery?.reply).toBe(replies(out).at(-1));
  });

  it('attaches a not-accepted delivery to a refused message', () => {
    const c = new Client({ maxMessageSize: 2 }).transaction();
    const [delivery] = deliveries(c.send('DATA\r\nabc\r\n.\r\n'));
    expect(delivery).toMatchObject({ accepted: false, size: 5, via: 'DATA' });
    expect(code(delivery?.reply as Reply)).toBe('552 5.3.4');
  });

  it('marks deliveries by BDAT as via BDAT', () => {
    const c = new Client().transaction();
    expect(deliveries(c.send('BDAT 1 LAST\r\nx'))[0]?.via).toBe('BDAT');
  });
});
