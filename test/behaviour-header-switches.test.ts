import { bounceReplies } from '@mailhole/core';
import { describe, expect, it } from 'vitest';
import { messageText, sendWithSmtplib } from './support/smtplib.js';
import { sinkForTest } from './support/tls-clients.js';

const from = 'py@client.test';
const to = ['rcpt@sink.test'];
const bounceCodes = bounceReplies.map((r) => r.code);

describe('header switches, seen by Python smtplib', () => {
  it('X-Blackhole-Mode: bounce bounces that message with a code of the bounce set', async () => {
    const sink = await sinkForTest({ headerSwitches: true });

    const { messages } = await sendWithSmtplib(sink, [{ from, to, body: messageText(['X-Blackhole-Mode: bounce']) }]);

    expect(bounceCodes).toContain(messages[0]?.code);
    expect(sink.stats()).toMatchObject({ accepted: 0, rejected: 1 });
  });

  it('a switch applies to its own message only: the next message on the same connection is accepted', async () => {
    const sink = await sinkForTest({ headerSwitches: true });

    const { messages } = await sendWithSmtplib(sink, [
      { from, to, body: messageText(['X-Blackhole-Mode: bounce']) },
      { from, to, body: messageText([]) },
      { from, to, body: messageText(['X-Mailhole-Reply: 452 4.2.2 Mailbox full']) },
      { from, to, body: messageText([]) },
    ]);

    expect(bounceCodes).toContain(messages[0]?.code);
    expect(messages.slice(1).map((m) => m.code)).toEqual([250, 452, 250]);
    expect(messages[2]?.text).toBe('4.2.2 Mailbox full');
    expect(sink.accepted).toBe(2);
  });

  it('a body line that looks like a switch is not a switch', async () => {
    const sink = await sinkForTest({ headerSwitches: true });
    const body = 'X-Blackhole-Mode: bounce\r\nX-Mailhole-Reply: 550 5.1.1 Gone';

    const { messages } = await sendWithSmtplib(sink, [{ from, to, body: messageText([], body) }]);

    expect(messages[0]?.code).toBe(250);
    expect(sink.accepted).toBe(1);
  });

  it('X-Mailhole-Mode: accept lets a message through a bouncing sink', async () => {
    const sink = await sinkForTest({ mode: 'bounce' });

    const { messages } = await sendWithSmtplib(sink, [
      { from, to, body: messageText(['X-Mailhole-Mode: accept']) },
      { from, to, body: messageText([]) },
    ]);

    expect(messages[0]?.code).toBe(250);
    expect(bounceCodes).toContain(messages[1]?.code);
  });

  it('X-Blackhole-Delay delays the final reply by that many seconds', async () => {
    const sink = await sinkForTest({ headerSwitches: true });

    const { messages } = await sendWithSmtplib(sink, [{ from, to, body: messageText(['X-Blackhole-Delay: 1']) }]);

    expect(messages[0]?.code).toBe(250);
    expect(messages[0]?.seconds).toBeGreaterThanOrEqual(0.95);
  });

  it('a misspelt switch value refuses the message with 554 5.6.0 naming the header', async () => {
    const sink = await sinkForTest({ headerSwitches: true });

    const { messages } = await sendWithSmtplib(sink, [{ from, to, body: messageText(['X-Blackhole-Mode: bouce']) }]);

    expect(messages[0]).toMatchObject({
      code: 554,
      text: '5.6.0 Bad header switch X-Blackhole-Mode: use accept, bounce or random',
    });
  });

  it('with headerSwitches: false the switches are ignored', async () => {
    const sink = await sinkForTest({ mode: 'random', acceptRatio: 1, headerSwitches: false });

    const { messages } = await sendWithSmtplib(sink, [
      { from, to, body: messageText(['X-Blackhole-Mode: bounce', 'X-Mailhole-Reply: 451 4.3.0 Later']) },
    ]);

    expect(messages[0]?.code).toBe(250);
  });
});
