const nodemailer = require('nodemailer');

async function sendWelcome(to) {
  const transport = nodemailer.createTransport({ host: mailhole.host, port: mailhole.port });
  try {
    await transport.sendMail({ from: 'app@example.test', to, subject: 'Welcome', text: 'Hello' });
  } finally {
    transport.close();
  }
}

test('the first test sends one mail and sees one', async () => {
  expect(mailhole.accepted).toBe(0);
  await sendWelcome('ada@example.test');
  expect(mailhole.accepted).toBe(1);
});

test('the second test starts from zero and sees only its own mail', async () => {
  expect(mailhole.accepted).toBe(0);
  await sendWelcome('grace@example.test');
  expect(mailhole.accepted).toBe(1);
  expect(mailhole.stats().accepted).toBe(2);
});

test('records come back as arrays of this test realm', async () => {
  await sendWelcome('alan@example.test');
  const records = mailhole.deliveries();
  expect(records).toBeInstanceOf(Array);
  expect(records.map((r) => r.recipients)).toStrictEqual([['alan@example.test']]);
});

test('the matchers read the current test', async () => {
  await sendWelcome('edsger@example.test');
  expect(mailhole).toHaveAccepted(1);
  expect(mailhole).toHaveReceivedMailTo('edsger@example.test');
  expect(mailhole).not.toHaveReceivedMailTo('ada@example.test');
});
