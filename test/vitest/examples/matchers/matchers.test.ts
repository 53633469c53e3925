import { expect, test } from '@mailhole/vitest';
import { sendMail } from '../send-mail.js';

test('toHaveAccepted counts accepted deliveries exactly', async ({ mailhole }) => {
  expect(mailhole).toHaveAccepted(0);
  await sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'ada@example.test' }, { to: 'bob@example.test' });
  expect(mailhole).toHaveAccepted(2);
  expect(mailhole).not.toHaveAccepted(1);
});

test('toHaveReceivedMailTo finds an envelope recipient', async ({ mailhole }) => {
  await sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'ada@example.test' });
  expect(mailhole).toHaveReceivedMailTo('ada@example.test');
  expect(mailhole).not.toHaveReceivedMailTo('bob@example.test');
});

test('toReceive waits for mail that is still on its way', async ({ mailhole }) => {
  // Not awaited: the assertion below is what waits for the mail.
  const sending = sendMail(
    { host: mailhole.host, port: mailhole.port },
    { to: 'ada@example.test' },
    { to: 'bob@example.test' },
  );
  await expect(mailhole).toReceive(2, { timeout: 10_000 });
  await sending;
});

test('not.toReceive passes when nothing arrives within the timeout', async ({ mailhole }) => {
  await expect(mailhole).not.toReceive(1, { timeout: 100 });
});

test('the matchers read a view the same way as a sink', async ({ mailhole }) => {
  const toAda = mailhole.view({ to: 'ada@example.test' });
  await sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'ada@example.test' }, { to: 'bob@example.test' });
  expect(toAda).toHaveAccepted(1);
  expect(toAda).not.toHaveReceivedMailTo('bob@example.test');
  expect(mailhole).toHaveAccepted(2);
});
