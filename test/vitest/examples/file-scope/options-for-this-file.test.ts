import { expect } from '@mailhole/vitest';
import { sendMail } from '../send-mail.js';
import { test } from './fixtures.js';

// Sink options for every test of this file (a file-scoped option must be set at the top level).
test.override({ mailholeOptions: { maxRecipients: 1, hostname: 'mx.file-scope.test' } });

test('the file sink starts with the options of this file', async ({ mailhole, mailholeSink }) => {
  expect(mailholeSink.options.maxRecipients).toBe(1);
  expect(mailholeSink.options.hostname).toBe('mx.file-scope.test');
  await sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'ada@example.test' });
  expect(mailhole).toHaveAccepted(1);
});

test('a second recipient is refused by the limit of this file', async ({ mailhole }) => {
  await sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'ada@example.test, bob@example.test' });
  expect(mailhole).toHaveAccepted(1);
  const [delivery] = mailhole.deliveries();
  expect(delivery?.recipients).toEqual(['ada@example.test']);
  expect(delivery?.rejectedRecipients.map((r) => r.address)).toEqual(['bob@example.test']);
});
