import type Mail from 'nodemailer/lib/mailer/index.js';
import { describe, expect, it } from 'vitest';
import { sinkForTest, transportForTest } from '../../../test/support/tls-clients.js';

const pdf = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256));

async function sendFull(mail: Mail.Options) {
  const sink = await sinkForTest({ capture: 'full' });
  await transportForTest(sink).sendMail(mail);
  const [message] = sink.messages();
  if (message === undefined) throw new Error(`no message was kept:\n${sink.describe()}`);
  return message;
}

describe('the parsed view of a captured message', () => {
  it('shows blind copies through the envelope, though no header names them', async () => {
    const message = await sendFull({
      from: 'shop@test.example',
      to: 'alice@test.example',
      cc: 'carol@test.example',
      bcc: 'audit@test.example',
      subject: 'Your order',
      text: 'Thanks',
    });

    const parsed = await message.parsed();

    expect(parsed.bcc).toEqual(['audit@test.example']);
    expect(parsed.envelope).toEqual({
      sender: 'shop@test.example',
      recipients: ['alice@test.example', 'carol@test.example', 'audit@test.example'],
    });
    expect(parsed.headers.bcc).toBeUndefined();
    expect(message.raw.toString()).not.toContain('audit@test.example');
  });

  it('decodes the attachments with their file name, type, size and content', async () => {
    const message = await sendFull({
      from: 'a@test.example',
      to: 'b@test.example',
      subject: 'Invoice',
      text: 'See attached.',
      attachments: [
        { filename: 'invoice.pdf', content: pdf, contentType: 'application/pdf' },
        { filename: 'notes.txt', content: 'line one\nline two\n' },
      ],
    });

    const { attachments } = await message.parsed();

    expect(attachments.map((a) => [a.filename, a.contentType, a.size])).toEqual([
      ['invoice.pdf', 'application/pdf', pdf.length],
      ['notes.txt', 'text/plain', 18],
    ]);
    expect(attachments[0]?.content.equals(pdf)).toBe(true);
    expect(attachments[1]?.content.toString()).toBe('line one\nline two\n');
  });

  it('gives the decoded subject, addresses and both bodies', async () => {
    const message = await sendFull({
      from: '"Grüße GmbH" <shop@test.example>',
      to: 'Alice <alice@test.example>, bob@test.example',
      replyTo: 'help@test.example',
      subject: 'Grüße aus Köln',
      text: 'Plain text.\n.A line with a dot.\n',
      html: '<p>HTML <b>body</b></p>',
      messageId: '<fixed@test.example>',
      date: new Date('2024-01-02T03:04:05Z'),
    });

    const parsed = await message.parsed();

    expect(parsed.subject).toBe('Grüße aus Köln');
    expect(parsed.from).toEqual([{ address: 'shop@test.example', name: 'Grüße GmbH' }]);
    expect(parsed.to).toEqual([
      { address: 'alice@test.example', name: 'Alice' },
      { address: 'bob@test.example', name: '' },
    ]);
    expect(parsed.replyTo).toEqual([{ address: 'help@test.example', name: '' }]);
    expect(parsed.text).toBe('Plain text.\n.A line with a dot.\n');
    expect(parsed.html).toBe('<p>HTML <b>body</b></p>');
    expect(parsed.messageId).toBe('<fixed@test.example>');
    expect(parsed.date).toBe('2024-01-02T03:04:05.000Z');
    expect(message.record.subject).toBe('Grüße aus Köln');
  });

  it('parses once, when first asked, and shares the result', async () => {
    const message = await sendFull({ from: 'a@test.example', to: 'b@test.example', subject: 'once', text: 'x' });

    const first = message.parsed();
    const second = message.parsed();

    expect(second).toBe(first);
    expect((await first).subject).toBe('once');
  });
});
