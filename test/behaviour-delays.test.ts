import nodemailer, { type Transporter } from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { messageText, sendWithSmtplib } from './support/smtplib.js';
import { sinkForTest } from './support/tls-clients.js';
import { nextEvent, within } from './support/within.js';

const from = 'py@client.test';
const to = ['rcpt@sink.test'];

// Delays are asserted from below only: a reply can come late under load, never early.
describe('delays, seen by real clients', () => {
  it('delay: N holds the final reply to each message N ms (Python smtplib)', async () => {
    const sink = await sinkForTest({ delay: 700 });

    const { messages } = await sendWithSmtplib(sink, [
      { from, to, body: messageText([]) },
      { from, to, body: messageText([]) },
    ]);

    expect(messages.map((m) => m.code)).toEqual([250, 250]);
    for (const m of messages) expect(m.seconds).toBeGreaterThanOrEqual(0.68);
    expect(sink.accepted).toBe(2);
  });

  it('a [min, max] delay holds the final reply at least min ms (Python smtplib)', async () => {
    const sink = await sinkForTest({ delay: [400, 600], seed: 3 });

    const { messages } = await sendWithSmtplib(sink, [{ from, to, body: messageText([]) }]);

    expect(messages[0]?.code).toBe(250);
    expect(messages[0]?.seconds).toBeGreaterThanOrEqual(0.38);
  });

  it('a greeting delay holds the 220 before the client can say EHLO (Python smtplib)', async () => {
    const sink = await sinkForTest({ delay: { greeting: 800 } });

    const result = await sendWithSmtplib(sink, [{ from, to, body: messageText([]) }]);

    expect(result.connectSeconds).toBeGreaterThanOrEqual(0.78);
    expect(result.messages[0]?.code).toBe(250);
  });

  it('a session waiting on a delay never holds up another session', async () => {
    const sink = await sinkForTest({});
    sink.faults.delay('message', 60_000, { match: { sender: 'slow@client.test' } });
    const transport = (): Transporter =>
      nodemailer.createTransport({ host: sink.host, port: sink.port, secure: false, ignoreTLS: true });
    const slowTransport = transport();
    const fastTransport = transport();

    let slowSettled = false;
    const delayStarted = nextEvent(sink, 'fault', 10_000);
    const slow = slowTransport
      .sendMail({ from: 'slow@client.test', to: 'a@sink.test', text: 'slow' })
      .finally(() => (slowSettled = true));
    slow.catch(() => {
      // Settled by sink.close() below; what it says is not the point of this test.
    });
    await delayStarted;
    const fast = await within(
      fastTransport.sendMail({ from: 'fast@client.test', to: 'b@sink.test', text: 'fast' }),
      10_000,
      'the second session',
    );

    expect(fast.response).toMatch(/^250 /);
    expect(slowSettled).toBe(false);
    expect(sink.deliveries().map((d) => d.sender)).toEqual(['fast@client.test']);
    await sink.close();
    slowTransport.close();
    fastTransport.close();
  });
});
