import { expect, test } from '@jest/globals';
import { useMailhole } from '@mailhole/jest';
import { createTransport } from 'nodemailer';

const mailhole = useMailhole();

test('matchers are typed on the expect of @jest/globals too', async () => {
  const transport = createTransport({ host: mailhole.host, port: mailhole.port });
  try {
    await transport.sendMail({ from: 'app@example.test', to: 'edsger@example.test', text: 'Hi' });
  } finally {
    transport.close();
  }
  expect(mailhole).toHaveAccepted(1);
  expect(mailhole).not.toHaveReceivedMailTo('ada@example.test');
});
