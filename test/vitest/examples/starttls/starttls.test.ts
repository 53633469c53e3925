import { describe, expect, test } from '@mailhole/vitest';
import { sendMail } from '../send-mail.js';

describe('a suite whose sinks require STARTTLS', () => {
  // Sink options for the tests of this suite only.
  test.override({ mailholeOptions: { tls: 'starttls', requireTls: true } });

  test('nodemailer upgrades with STARTTLS and verifies the sink against its CA', async ({ mailhole }) => {
    await sendMail(
      { host: mailhole.host, port: mailhole.port, requireTLS: true, tls: mailhole.clientTls() },
      { to: 'ada@example.test' },
    );
    expect(mailhole).toHaveAccepted(1);
    expect(mailhole.deliveries()[0]?.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
    // The suite's options came on top of the project's.
    expect(mailhole.options.hostname).toBe('mx.example.test');
  });

  test('a client that does not trust the CA refuses the sink', async ({ mailhole }) => {
    await expect(
      sendMail(
        { host: mailhole.host, port: mailhole.port, requireTLS: true, tls: { servername: 'localhost' } },
        { to: 'ada@example.test' },
      ),
    ).rejects.toThrow(/certificate|self[- ]signed/i);
    expect(mailhole).toHaveAccepted(0);
  });

  test('a client that skips STARTTLS is refused with 530', async ({ mailhole }) => {
    await expect(
      sendMail({ host: mailhole.host, port: mailhole.port, ignoreTLS: true }, { to: 'ada@example.test' }),
    ).rejects.toThrow(/530/);
    expect(mailhole).toHaveAccepted(0);
  });
});

test('outside that suite the sink speaks plain SMTP, with the options of the config', async ({ mailhole }) => {
  expect(mailhole.ca).toBeUndefined();
  expect(mailhole.options.hostname).toBe('mx.example.test');
  await sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'ada@example.test' });
  expect(mailhole).toHaveAccepted(1);
  expect(mailhole.deliveries()[0]?.tls).toBeUndefined();
});
