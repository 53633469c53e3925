import { expect, test } from '@mailhole/playwright';

test('the app started after the sink sends it the code', async ({ page, mailbox }) => {
  await page.goto('/');
  await page.getByLabel('Email').fill(mailbox.address);
  await page.getByRole('button', { name: 'Send me a code' }).click();

  await expect(mailbox).toReceive(1, { timeout: 10_000 });
  const message = await mailbox.waitForMessage();
  await page.getByLabel('Code').fill(message.codes({ length: 6 })[0] ?? '');
  await page.getByRole('button', { name: 'Sign in' }).click();

  await expect(page.getByRole('heading')).toHaveText(`Signed in as ${mailbox.address}`);
  await expect(mailbox).toHaveReceivedMailTo(mailbox.address);
});

test('the workers reach the one shared sink', async ({ sink, mailbox }) => {
  expect(process.env.MAILHOLE_API_URL).toBe(sink.apiUrl);
  expect(sink.info.options.capture).toBe('full');
  await expect(mailbox).toHaveAccepted(0);
});
