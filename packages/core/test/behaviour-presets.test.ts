import { describe, expect, it } from 'vitest';
import { FaultRules, faultRule } from '../src/behaviour/faults.js';
import { bounceReplies } from '../src/behaviour/replies.js';
import { formatReply, replyToString } from '../src/protocol/reply.js';
import type { Stage, StageContext } from '../src/protocol/types.js';
import { stageContext } from './behaviour-context.js';

/** The context of a stage, from a client at `address` that said `helo`. */
function from(
  address: string,
  stage: Stage,
  options: Parameters<typeof stageContext>[1] & { helo?: string } = {},
): StageContext {
  const context = stageContext(stage, options);
  context.connection.remoteAddress = address;
  if (options.helo !== undefined) context.heloName = options.helo;
  return context;
}

/** The reply line a rule set gives at this context, or `undefined` when no rule fired. */
function answer(rules: FaultRules, context: StageContext): string | undefined {
  const reply = rules.decide(context)?.reply;
  return reply === undefined ? undefined : replyToString(reply);
}

describe('blocklists: which sessions are listed', () => {
  it('CIDR ranges of both families; an IPv4-mapped client is shown and matched as IPv4', () => {
    const rules = new FaultRules(1);
    rules.blocklist({ list: 'zen.spamhaus.org', listed: ['192.0.2.0/24', '2001:db8::/32'] });

    expect(answer(rules, from('::ffff:192.0.2.7', 'rcpt', { sender: 'a@b.test', recipient: 'c@d.test' }))).toBe(
      '554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using zen.spamhaus.org',
    );
    expect(answer(rules, from('2001:db8::25', 'rcpt', { sender: 'a@b.test', recipient: 'c@d.test' }))).toBe(
      '554 5.7.1 Service unavailable; Client host [2001:db8::25] blocked using zen.spamhaus.org',
    );
    expect(answer(rules, from('192.0.3.1', 'rcpt', { sender: 'a@b.test', recipient: 'c@d.test' }))).toBeUndefined();
    expect(answer(rules, from('2001:db9::1', 'rcpt', { sender: 'a@b.test', recipient: 'c@d.test' }))).toBeUndefined();
  });

  it('a listed domain lists its subdomains, compared in IDNA form, but not a domain that merely ends alike', () => {
    const rules = new FaultRules(1);
    rules.blocklist({ restriction: 'reject_rhsbl_sender', list: 'dbl.spamhaus.org', listed: ['bücher.test'] });
    const at = (sender: string) => answer(rules, from('127.0.0.1', 'rcpt', { sender, recipient: 'c@d.test' }));

    expect(at('a@xn--bcher-kva.test')).toMatch(/Sender address \[a@xn--bcher-kva\.test\] blocked/);
    expect(at('a@mail.BÜCHER.test')).toMatch(/Sender address \[a@mail\.BÜCHER\.test\] blocked/);
    expect(at('a@notbücher.test')).toBeUndefined();
  });

  it('as Postfix: the null sender, an address literal and an all-digits last label are never looked up', () => {
    const rules = new FaultRules(1);
    rules.blocklist({ restriction: 'reject_rhsbl_sender', list: 'dbl.spamhaus.org', listed: 'all' });
    const at = (sender: string) => answer(rules, from('127.0.0.1', 'rcpt', { sender, recipient: 'c@d.test' }));

    expect(at('')).toBeUndefined();
    expect(at('a@[192.0.2.1]')).toBeUndefined();
    expect(at('a@host.123')).toBeUndefined();
    expect(at('a@host.test')).toMatch(/^554 5\.7\.1 /);
  });

  it('counts only listed sessions towards "times": an unlisted client does not use the rule up', () => {
    const rules = new FaultRules(1);
    rules.add({ ...faultRule.blocklist({ list: 'b1.spamcop.net', listed: ['198.51.100.9'] }), times: 1 });
    const rcpt = (address: string) => from(address, 'rcpt', { sender: 'a@b.test', recipient: 'c@d.test' });

    expect(answer(rules, rcpt('198.51.100.8'))).toBeUndefined();
    expect(answer(rules, rcpt('198.51.100.9'))).toMatch(/Client host \[198\.51\.100\.9\]/);
    expect(rules.size).toBe(0);
  });

  it('the HELO name is looked up at HELO', () => {
    const rules = new FaultRules(1);
    rules.blocklist(
      { restriction: 'reject_rhsbl_helo', list: 'dbl.spamhaus.org', listed: 'spam.test' },
      { stage: 'helo' },
    );

    expect(answer(rules, from('127.0.0.1', 'helo', { helo: 'mx.spam.test' }))).toBe(
      '554 5.7.1 Service unavailable; Helo command [mx.spam.test] blocked using dbl.spamhaus.org',
    );
    expect(answer(rules, from('127.0.0.1', 'helo', { helo: 'mx.ham.test' }))).toBeUndefined();
  });
});

describe('blocklist replies at the edges of Postfix limits', () => {
  it('a reason of 500 characters is cut so the reply line is 510 characters, as smtpd_check_reject does', () => {
    const reason = 'r'.repeat(500);
    const reply = bounceReplies.blocklist('reject_rbl_client', 'zen.spamhaus.org', '192.0.2.1', { reason });

    expect(formatReply(reply)).toHaveLength(510 + 2);
    expect(formatReply(reply)).toMatch(
      /^554 5\.7\.1 Service unavailable; Client host \[192\.0\.2\.1\] blocked using zen\.spamhaus\.org; r+\r\n$/,
    );
  });

  it('a reason longer than 500 characters is refused, naming the field', () => {
    const rules = new FaultRules(1);
    expect(() => rules.blocklist({ list: 'zen.spamhaus.org', listed: 'all', reason: 'r'.repeat(501) })).toThrow(
      /"action.reason" must be a string of at most 500 characters/,
    );
  });

  it('control bytes of a reason become spaces: a TXT record cannot forge a reply line', () => {
    const reply = bounceReplies.blocklist('reject_rbl_client', 'zen.spamhaus.org', '192.0.2.1', {
      reason: 'a\r\n250 OK',
    });
    expect(formatReply(reply)).toBe(
      '554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; a  250 OK\r\n',
    );
  });

  it('a 4xx code gives DSN 4.7.1, and a list with a reply filter is named without it', () => {
    const reply = bounceReplies.blocklist('reject_rhsbl_recipient', 'dnsbl.sorbs.net=127.0.0.10', 'b@c.test', {
      code: 450,
    });
    expect(replyToString(reply)).toBe(
      '450 4.7.1 Service unavailable; Recipient address [b@c.test] blocked using dnsbl.sorbs.net',
    );
  });
});

describe('provider presets as rule actions', () => {
  it('a preset name as the action, with no stage, answers at the preset stage and is listed as a preset', () => {
    const rules = new FaultRules(1);
    rules.add({ action: 'gmail.tlsRequired' });

    expect(rules.list()).toEqual([
      expect.objectContaining({ stage: 'rcpt', action: { type: 'preset', preset: 'gmail.tlsRequired' } }),
    ]);
    const decision = rules.decide(from('127.0.0.1', 'rcpt', { sender: 'a@b.test', recipient: 'c@d.test' }));
    // RFC 5321 §3.8: a 421 closes the connection.
    expect(decision?.then).toBe('close');
    expect(rules.fired()[0]?.action).toBe('preset gmail.tlsRequired: 421 4.7.0');
  });

  it('the null sender has no domain: {senderDomain} is the HELO name, as SPF checks it', () => {
    const rules = new FaultRules(1);
    rules.preset('outlook.unauthenticated');

    expect(
      answer(rules, from('127.0.0.1', 'message', { sender: '', recipients: ['c@d.test'], helo: 'mx.sender.test' })),
    ).toBe(
      '550 5.7.515 Access denied, sending domain [mx.sender.test] does not meet the required authentication level.',
    );
  });

  it('a preset with a delay and close keeps both', () => {
    const rules = new FaultRules(1);
    rules.add({ stage: 'rcpt', action: { type: 'preset', preset: 'gmail.unknownUser', close: true, delayMs: 25 } });

    const decision = rules.decide(from('127.0.0.1', 'rcpt', { sender: 'a@b.test', recipient: 'c@d.test' }));
    expect(decision).toMatchObject({ delayMs: 25, then: 'close', reply: { code: 550, enhanced: '5.1.1' } });
  });
});
