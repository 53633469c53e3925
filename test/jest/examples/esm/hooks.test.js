import { useMailhole } from '@mailhole/jest';
import nodemailer from 'nodemailer';

const mailhole = useMailhole({ scope: 'test' });

test('an ES module test imports the hook helper', async () => {
  const transport = nodemailer.createTransport({ host: mailhole.host, port: mailhole.port });
  try {
    await transport.sendMail({ from: 'app@example.test', to: 'alan@example.test', subject: 'Hi', text: 'ESM' });
  } finally {
    transport.close();
  }
  expect(mailhole).toHaveAccepted(1);
  expect(mailhole.deliveries()[0].recipients).toEqual(['alan@example.test']);
});
