import { expect, test } from '@mailhole/playwright';
import nodemailer from 'nodemailer';

test.beforeEach(async ({ mailbox }) => {
  const transport = nodemailer.createTransport({
    host: process.env.MAILHOLE_HOST,
    port: Number(process.env.MAILHOLE_PORT),
  });
  await transport.sendMail({ from: 'app@test.example', to: mailbox.address, subject: 'Welcome', text: 'Hi' });
  transport.close();
});

test('toReceive fails saying what arrived', async ({ mailbox }) => {
  await expect(mailbox).toReceive(2, { timeout: 300 });
});

test('toHaveAccepted fails with both counts', async ({ mailbox }) => {
  await expect(mailbox).toHaveAccepted(3);
});

test('waitForMessage fails listing the mailbox', async ({ mailbox }) => {
  await mailbox.waitForMessage({ subject: 'Sign in', timeout: 300 });
});
