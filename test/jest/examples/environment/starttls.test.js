/**
 * @jest-environment-options {"mailhole": {"tls": "starttls", "requireTls": true}}
 */
const nodemailer = require('nodemailer');

test('the docblock gives this file a STARTTLS sink that a verifying client trusts', async () => {
  const transport = nodemailer.createTransport({
    host: mailhole.host,
    port: mailhole.port,
    requireTLS: true,
    tls: mailhole.clientTls(),
  });
  try {
    await transport.sendMail({ from: 'app@example.test', to: 'ada@example.test', subject: 'Secure', text: 'Hi' });
  } finally {
    transport.close();
  }
  expect(mailhole.accepted).toBe(1);
  expect(mailhole.deliveries()[0].tls.mode).toBe('starttls');
});
