import nodemailer from 'nodemailer';

async function send(port, to) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port });
  try {
    await transport.sendMail({ from: 'app@example.test', to, subject: 'Hi', text: 'ESM' });
  } finally {
    transport.close();
  }
}

test('an ES module test sees the environment sink', async () => {
  await send(mailhole.port, 'ada@example.test');
  expect(mailhole.accepted).toBe(1);
  expect(mailhole).toHaveReceivedMailTo('ada@example.test');
});

test('and counts from zero in the next test', async () => {
  expect(mailhole.accepted).toBe(0);
  await send(mailhole.port, 'grace@example.test');
  await expect(mailhole).toReceive(1);
});
