import { describe, expect, it } from 'vitest';
import { formatReply, reply } from '../src/protocol/reply.js';
import type { AuthProvider, StagePolicy } from '../src/protocol/types.js';
import { Client, codes, deliveries, replies, types } from './protocol-harness.js';

const rcpts = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `RCPT TO:<r${from + i}@x.org>\r\n`).join('');

/** Any user and password pass; AUTH is required. */
const requiredAuth: AuthProvider = {
  mechanisms: ['PLAIN'],
  required: true,
  requireTls: false,
  begin: () => ({ respond: () => ({ user: 'u' }) }),
};

describe('a recipient flood', () => {
  it('ends with 421 4.7.0 naming maxInvalidCommands, however many RCPTs are pipelined', () => {
    const c = new Client({ maxRecipients: 3, maxInvalidCommands: 5 }).ready();
    const out = c.send(`MAIL FROM:<s@example.com>\r\n${rcpts(100_000)}`);
    const got = codes(out);
    // 1 MAIL + 3 accepted + 3 overshoot + 5 counted 452s, the last followed by the 421.
    expect(got.filter((x) => x === '250 2.1.5')).toHaveLength(3);
    expect(got.filter((x) => x === '452 4.5.3')).toHaveLength(8);
    expect(got.at(-1)).toBe('421 4.7.0');
    expect(formatReply(replies(out).at(-1) as never)).toMatch(/maxInvalidCommands/);
    expect(types(out).at(-1)).toBe('close');
    expect(c.session.closed).toBe(true);
  });

  it('keeps the first maxRejectedRecipients refused recipients and counts the rest', () => {
    const c = new Client({ maxRecipients: 1, maxRejectedRecipients: 3, maxInvalidCommands: 1000 }).ready();
    c.send(`MAIL FROM:<s@example.com>\r\n${rcpts(11)}`);
    const [delivery] = deliveries(c.send('DATA\r\nx\r\n.\r\n'));
    expect(delivery?.recipients).toEqual(['r0@x.org']);
    expect(delivery?.rejectedRecipients.map((r) => r.address)).toEqual(['r1@x.org', 'r2@x.org', 'r3@x.org']);
    expect(delivery?.rejectedRecipientsOmitted).toBe(7);
  });

  it('bounds what a policy refuses too, without counting its refusals as the client’s errors', () => {
    const refuseAll: StagePolicy = {
      wantsHeaders: false,
      decide: (ctx) => (ctx.stage === 'rcpt' ? { reply: reply(550, '5.1.1', 'No such user') } : undefined),
    };
    const c = new Client({ policy: refuseAll, maxRejectedRecipients: 2, maxInvalidCommands: 3 }).ready();
    const out = c.send(`MAIL FROM:<s@example.com>\r\n${rcpts(50)}`);
    expect(codes(out).filter((x) => x === '550 5.1.1')).toHaveLength(50);
    expect(c.session.closed).toBe(false);
    expect(c.codes('DATA\r\n')).toEqual(['554 5.5.1']);
  });

  it('counts refusals a policy chose as errors once they outnumber maxRecipients, and keeps 100 faults', () => {
    const refuseAll: StagePolicy = {
      wantsHeaders: false,
      decide: (ctx) =>
        ctx.stage === 'rcpt'
          ? {
              reply: reply(550, '5.1.1', 'No such user'),
              fault: { rule: 'r', stage: 'rcpt', action: '550', at: 1 },
            }
          : undefined,
    };
    const c = new Client({ policy: refuseAll, maxRecipients: 200, maxInvalidCommands: 3 }).ready();
    const out = c.send(`MAIL FROM:<s@example.com>\r\n${rcpts(10_000)}`);
    // 200 are the client's due, then 3 errors: the third ends the session.
    expect(codes(out).filter((x) => x === '550 5.1.1')).toHaveLength(203);
    expect(codes(out).at(-1)).toBe('421 4.7.0');
    const kept = (c.session as unknown as { faults: unknown[] }).faults;
    expect(kept).toHaveLength(100);
  });

  it('with maxRejectedRecipients 0 keeps none and still says there were some', () => {
    const c = new Client({ maxRecipients: 1, maxRejectedRecipients: 0 }).ready();
    c.send(`MAIL FROM:<s@example.com>\r\n${rcpts(3)}`);
    const [delivery] = deliveries(c.send('DATA\r\nx\r\n.\r\n'));
    expect(delivery?.rejectedRecipients).toEqual([]);
    expect(delivery?.rejectedRecipientsOmitted).toBe(2);
  });
});

describe('error limits (Postfix soft and hard)', () => {
  it('counts commands refused by requireAuth as errors', () => {
    const c = new Client({ auth: requiredAuth, maxInvalidCommands: 3 }).ready();
    const out = c.send('MAIL FROM:<a@b.c>\r\nRCPT TO:<a@b.c>\r\nDATA\r\nNOOP\r\n');
    expect(codes(out)).toEqual(['530 5.7.0', '530 5.7.0', '530 5.7.0', '421 4.7.0']);
  });

  it('starts the count over after a message is accepted', () => {
    const c = new Client({ maxInvalidCommands: 3 }).ready();
    expect(c.codes('FROB\r\nFROB\r\n')).toEqual(['500 5.5.2', '500 5.5.2']);
    c.send('MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\n');
    expect(c.codes('FROB\r\nFROB\r\nNOOP\r\n')).toEqual(['500 5.5.2', '500 5.5.2', '250 2.0.0']);
    expect(c.codes('FROB\r\n')).toEqual(['500 5.5.2', '421 4.7.0']);
  });

  it('delays each error reply past softErrorLimit by errorDelay, and not before', () => {
    const c = new Client({ softErrorLimit: 2, errorDelay: 250, maxInvalidCommands: 10 }).ready();
    expect(types(c.send('FROB\r\nFROB\r\n'))).toEqual(['reply', 'reply']);
    const out = c.send('FROB\r\nNOOP\r\n');
    expect(out.map((o) => (o.type === 'delay' ? `delay ${o.ms}` : o.type))).toEqual(['delay 250', 'reply', 'reply']);
  });

  it('sends the 421 at the hard limit without waiting', () => {
    const c = new Client({ softErrorLimit: 0, errorDelay: 250, maxInvalidCommands: 2 }).ready();
    const out = c.send('FROB\r\nFROB\r\n');
    expect(types(out)).toEqual(['delay', 'reply', 'reply', 'reply', 'close']);
  });
});
