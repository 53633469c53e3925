/**
 * @jest-environment-options {"mailhole": {"rejections": [{"restriction": "reject_rhsbl_sender", "list": "dbl.spamhaus.org", "listed": "spam.test", "stage": "mail"}]}}
 */
const nodemailer = require('nodemailer');

test('the docblock puts spam.test on an RHSBL: Postfix refuses the sender at MAIL', async () => {
  const transport = nodemailer.createTransport({ host: mailhole.host, port: mailhole.port, ignoreTLS: true });
  let response;
  try {
    await transport.sendMail({ from: 'bulk@spam.test', to: 'ada@example.test', subject: 'Hi', text: 'Hi' });
  } catch (error) {
    response = error.response;
  } finally {
    transport.close();
  }
  expect(response).toBe(
    '554 5.7.1 Service unavailable; Sender address [bulk@spam.test] blocked using dbl.spamhaus.org',
  );
  expect(mailhole.accepted).toBe(0);
});
