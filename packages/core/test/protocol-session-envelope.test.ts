import { describe, expect, it } from 'vitest';
import { formatReply } from '../src/protocol/reply.js';
import { Client, code, codes, deliveries } from './protocol-harness.js';

/** MAIL FROM after EHLO, the reply as `code enhanced`. */
function mail(args: string, options: ConstructorParameters<typeof Client>[0] = {}): string {
  const c = new Client(options).ready();
  return code(c.reply(`MAIL FROM:${args}\r\n`));
}

/** RCPT TO after EHLO and MAIL FROM (with `mailParameters`), the reply as `code enhanced`. */
function rcpt(args: string, mailParameters = ''): string {
  const c = new Client().ready();
  c.send(`MAIL FROM:<s@example.com>${mailParameters}\r\n`);
  return code(c.reply(`RCPT TO:${args}\r\n`));
}

/** Sends one whole message after MAIL (with params) and one RCPT; returns the delivery. */
function deliver(mailParameters: string, rcptParameters = '') {
  const c = new Client().ready();
  const out = c.send(
    `MAIL FROM:<s@example.com> ${mailParameters}\r\nRCPT TO:<r@example.org> ${rcptParameters}\r\nDATA\r\nx\r\n.\r\n`,
  );
  const [delivery] = deliveries(out);
  if (delivery === undefined) throw new Error('no delivery');
  return delivery;
}

describe('MAIL FROM', () => {
  it('accepts a sender with 250 2.1.0 and reports the transaction', () => {
    const c = new Client().ready();
    expect(code(c.reply('MAIL FROM:<s@example.com>\r\n'))).toBe('250 2.1.0');
    expect(c.observer.of('transactionStarted')).toEqual([{ type: 'transactionStarted', sender: 's@example.com' }]);
  });

  it('accepts the null sender <>', () => {
    expect(mail('<>')).toBe('250 2.1.0');
  });

  it('accepts a space after the colon, as clients send it', () => {
    expect(mail(' <s@example.com>')).toBe('250 2.1.0');
  });

  it.each(['', 'FROM <a@b.c>', 'TO:<a@b.c>'])('refuses the syntax "MAIL %s" with 501 5.5.4', (args) => {
    const c = new Client().ready();
    expect(code(c.reply(`MAIL ${args}\r\n`))).toBe('501 5.5.4');
  });

  it.each(['s@example.com', '<s@example.com', '<s@@example.com>', '<s@-x.com>', '<"s@x.com>'])(
    'refuses the bad sender address %s with 501 5.5.4',
    (address) => {
      expect(mail(address)).toBe('501 5.5.4');
    },
  );

  it('does not start a transaction when MAIL is refused', () => {
    const c = new Client().ready();
    c.send('MAIL FROM:<bad\r\n');
    expect(c.observer.of('transactionStarted')).toEqual([]);
    expect(c.codes('RCPT TO:<a@b.c>\r\n')).toEqual(['503 5.5.1']);
  });
});

describe('MAIL parameters', () => {
  it('accepts SIZE exactly at the limit', () => {
    expect(mail('<s@example.com> SIZE=1000', { maxMessageSize: 1000 })).toBe('250 2.1.0');
  });

  it('refuses SIZE one octet over the limit with 552 5.3.4 naming the option', () => {
    const c = new Client({ maxMessageSize: 1000 }).ready();
    const r = c.reply('MAIL FROM:<s@example.com> SIZE=1001\r\n');
    expect(code(r)).toBe('552 5.3.4');
    expect(formatReply(r)).toMatch(/1000 octets.*maxMessageSize/);
    expect(c.observer.of('transactionStarted')).toEqual([]);
  });

  it('accepts any SIZE when there is no limit', () => {
    expect(mail('<s@example.com> SIZE=99999999999999', { maxMessageSize: 0 })).toBe('250 2.1.0');
  });

  it.each(['SIZE', 'SIZE=abc', 'SIZE=-1', 'SIZE=1.5'])('refuses the bad "%s" with 501 5.5.4', (param) => {
    expect(mail(`<s@example.com> ${param}`)).toBe('501 5.5.4');
  });

  it.each(['7BIT', '8BITMIME', 'BINARYMIME', '8bitmime'])('accepts BODY=%s and records it', (body) => {
    const c = new Client().ready();
    expect(code(c.reply(`MAIL FROM:<s@example.com> BODY=${body}\r\n`))).toBe('250 2.1.0');
  });

  it('records the declared body type with the delivery', () => {
    expect(deliver('BODY=8BITMIME').body).toBe('8BITMIME');
  });

  it.each(['BODY', 'BODY=9BIT'])('refuses "%s" with 501 5.5.4', (param) => {
    expect(mail(`<s@example.com> ${param}`)).toBe('501 5.5.4');
  });

  it('accepts SMTPUTF8 and refuses it with a value', () => {
    expect(mail('<s@example.com> SMTPUTF8')).toBe('250 2.1.0');
    expect(mail('<s@example.com> SMTPUTF8=yes')).toBe('501 5.5.4');
  });

  it('records RET and ENVID with the delivery', () => {
    const delivery = deliver('RET=HDRS ENVID=abc+2Bdef');
    expect(delivery.ret).toBe('HDRS');
    expect(delivery.envid).toBe('abc+2Bdef');
  });

  it.each(['RET=ALL', 'RET', 'ENVID=a+zz', `ENVID=${'a'.repeat(101)}`])('refuses the bad DSN parameter %s', (param) => {
    expect(mail(`<s@example.com> ${param}`)).toBe('501 5.5.4');
  });

  it('refuses an unknown parameter with 555 5.5.4', () => {
    expect(mail('<s@example.com> XFORWARD=1')).toBe('555 5.5.4');
  });

  it('refuses AUTH= when AUTH is not offered', () => {
    expect(mail('<s@example.com> AUTH=<>')).toBe('555 5.5.4');
  });

  it('refuses a parameter given twice with 501 5.5.4', () => {
    expect(mail('<s@example.com> SIZE=1 SIZE=2')).toBe('501 5.5.4');
  });
});

describe('RCPT TO', () => {
  it('accepts a recipient with 250 2.1.5 and reports it', () => {
    const c = new Client().ready();
    c.send('MAIL FROM:<s@example.com>\r\n');
    expect(code(c.reply('RCPT TO:<r@example.org>\r\n'))).toBe('250 2.1.5');
    expect(c.observer.of('recipient')).toMatchObject([{ address: 'r@example.org', accepted: true }]);
  });

  it('accepts <postmaster> without a domain', () => {
    expect(rcpt('<postmaster>')).toBe('250 2.1.5');
    expect(rcpt('<Postmaster>')).toBe('250 2.1.5');
  });

  it('refuses the null path as a recipient with 501 5.5.4', () => {
    expect(rcpt('<>')).toBe('501 5.5.4');
  });

  it('accepts a quoted local part with escapes', () => {
    expect(rcpt('<"john \\"the\\" doe"@example.org>')).toBe('250 2.1.5');
  });

  it.each(['<r@[192.0.2.1]>', '<r@[IPv6:2001:db8::1]>', '<r@[x-tag:content]>'])('accepts the literal in %s', (to) => {
    expect(rcpt(to)).toBe('250 2.1.5');
  });

  it('ignores a source route and records the mailbox', () => {
    const c = new Client().ready();
    c.send('MAIL FROM:<s@example.com>\r\n');
    c.send('RCPT TO:<@hop.example:r@example.org>\r\n');
    expect(c.observer.of('recipient')[0]?.address).toBe('r@example.org');
  });

  it('refuses an over-long local part and an over-long domain with 501 5.5.4', () => {
    expect(rcpt(`<${'a'.repeat(65)}@example.org>`)).toBe('501 5.5.4');
    expect(rcpt(`<a@${Array.from({ length: 5 }, () => 'd'.repeat(60)).join('.')}>`)).toBe('501 5.5.4');
  });

  it('refuses "RCPT" without TO: with 501 5.5.4', () => {
    const c = new Client().ready();
    c.send('MAIL FROM:<s@example.com>\r\n');
    expect(c.codes('RCPT <r@example.org>\r\n')).toEqual(['501 5.5.4']);
  });

  it('accepts NOTIFY and ORCPT and records them with the recipient', () => {
    const delivery = deliver('', 'NOTIFY=success,failure ORCPT=rfc822;r+40example.org');
    expect(delivery.recipientDetails).toEqual([
      { address: 'r@example.org', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;r+40example.org' },
    ]);
  });

  it.each(['NOTIFY=NEVER,SUCCESS', 'NOTIFY=SOMETIMES', 'NOTIFY', 'ORCPT=noaddrtype', 'ORCPT=;x', 'ORCPT=rfc822;a+zz'])(
    'refuses the bad DSN parameter %s with 501 5.5.4',
    (param) => {
      expect(rcpt(`<r@example.org> ${param}`)).toBe('501 5.5.4');
    },
  );

  it('refuses an unknown RCPT parameter with 555 5.5.4', () => {
    expect(rcpt('<r@example.org> FOO=1')).toBe('555 5.5.4');
  });

  it('accepts recipients up to maxRecipients and refuses the next with 452 4.5.3', () => {
    const c = new Client({ maxRecipients: 3 }).ready();
    c.send('MAIL FROM:<s@example.com>\r\n');
    const out = c.codes('RCPT TO:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nRCPT TO:<c@x.org>\r\nRCPT TO:<d@x.org>\r\n');
    expect(out).toEqual(['250 2.1.5', '250 2.1.5', '250 2.1.5', '452 4.5.3']);
    expect(c.observer.of('recipient').map((e) => [e.address, e.accepted])).toEqual([
      ['a@x.org', true],
      ['b@x.org', true],
      ['c@x.org', true],
      ['d@x.org', false],
    ]);
    const [delivery] = deliveries(c.send('DATA\r\nx\r\n.\r\n'));
    expect(delivery?.recipients).toEqual(['a@x.org', 'b@x.org', 'c@x.org']);
    expect(delivery?.rejectedRecipients.map((r) => [r.address, code(r.reply)])).toEqual([['d@x.org', '452 4.5.3']]);
  });

  it('counts recipients past the limit as errors only once they outnumber it (Postfix overshoot)', () => {
    const c = new Client({ maxRecipients: 2, maxInvalidCommands: 2 }).ready();
    c.send('MAIL FROM:<s@example.com>\r\nRCPT TO:<a@x.org>\r\nRCPT TO:<b@x.org>\r\n');
    // Two past the limit are the client's due; the third and fourth are errors, the fourth the last.
    const out = c.send('RCPT TO:<c@x.org>\r\nRCPT TO:<d@x.org>\r\nRCPT TO:<e@x.org>\r\nRCPT TO:<f@x.org>\r\n');
    expect(codes(out)).toEqual(['452 4.5.3', '452 4.5.3', '452 4.5.3', '452 4.5.3', '421 4.7.0']);
    expect(c.session.closed).toBe(true);
  });
});

describe('UTF-8 addresses', () => {
  const utf8 = Buffer.from;

  it('accepts UTF-8 sender and recipients after MAIL FROM with SMTPUTF8', () => {
    const c = new Client().ready();
    expect(c.codes(utf8('MAIL FROM:<jörg@bücher.example> SMTPUTF8\r\nRCPT TO:<δοκιμή@παράδειγμα.δοκιμή>\r\n'))).toEqual(
      ['250 2.1.0', '250 2.1.5'],
    );
    const [delivery] = deliveries(c.send('DATA\r\nx\r\n.\r\n'));
    expect(delivery?.sender).toBe('jörg@bücher.example');
    expect(delivery?.recipients).toEqual(['δοκιμή@παράδειγμα.δοκιμή']);
    expect(delivery?.smtputf8).toBe(true);
  });

  it('refuses a UTF-8 sender without SMTPUTF8 with 553 5.6.7', () => {
    const c = new Client().ready();
    expect(c.codes(utf8('MAIL FROM:<jörg@example.com>\r\n'))).toEqual(['553 5.6.7']);
  });

  it('refuses a UTF-8 recipient without SMTPUTF8 with 553 5.6.7', () => {
    const c = new Client().ready();
    c.send('MAIL FROM:<s@example.com>\r\n');
    expect(c.codes(utf8('RCPT TO:<r@bücher.example>\r\n'))).toEqual(['553 5.6.7']);
  });
});
