// The opening example of packages/vitest/README.md, word for word: it must keep working.
import { expect, test } from '@mailhole/vitest';
import { createTransport } from 'nodemailer';

test('sends a welcome mail', async ({ mailhole }) => {
  const smtp = createTransport({ host: mailhole.host, port: mailhole.port });
  await smtp.sendMail({ from: 'app@example.test', to: 'ada@example.test', text: 'Welcome!' });
  expect(mailhole).toHaveAccepted(1);
});
