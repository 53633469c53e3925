// Every test here fails on purpose: the run is checked for what the failures say.
import { describe, expect, test } from '@mailhole/vitest';
import { createTransport } from 'nodemailer';
import { sendMail } from '../send-mail.js';

test('toHaveAccepted with too few deliveries', async ({ mailhole }) => {
  await sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'ada@example.test' });
  expect(mailhole).toHaveAccepted(2);
});

test('not.toHaveAccepted with that very count', async ({ mailhole }) => {
  await sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'ada@example.test' });
  expect(mailhole).not.toHaveAccepted(1);
});

test('toHaveReceivedMailTo with mail to someone else', async ({ mailhole }) => {
  await sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'ada@example.test' });
  expect(mailhole).toHaveReceivedMailTo('bob@example.test');
});

test('toReceive when the second mail never comes', async ({ mailhole }) => {
  await sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'ada@example.test' });
  await expect(mailhole).toReceive(2, { timeout: 300 });
});

test('toHaveAccepted while a pooled connection is still open', async ({ mailhole }) => {
  // The app keeps its pooled connection open; the sink closes it after the test (421 4.3.2).
  const pool = createTransport({ host: mailhole.host, port: mailhole.port, pool: true, ignoreTLS: true });
  await pool.sendMail({ from: 'app@example.test', to: 'ada@example.test', text: 'pooled' });
  expect(mailhole).toHaveAccepted(2);
});

test('a matcher given something that is not a sink', () => {
  expect({ port: 25 }).toHaveAccepted(1);
});

describe('an app that skips STARTTLS', () => {
  test.override({ mailholeOptions: { tls: 'starttls', requireTls: true } });

  test('a plain assertion failure still shows what the sink saw', async ({ mailhole }) => {
    // The app swallows its error, as apps do; the test only sees that nothing was sent.
    const status = await sendMail(
      { host: mailhole.host, port: mailhole.port, ignoreTLS: true },
      { to: 'ada@example.test' },
    ).then(
      () => 'sent',
      () => 'failed',
    );
    expect(status).toBe('sent');
  });
});
