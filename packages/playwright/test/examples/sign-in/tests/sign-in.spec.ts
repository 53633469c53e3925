import { expect, test } from '@mailhole/playwright';

test('signs in with the link from the mail', async ({ page, mailbox }) => {
  await page.goto('/');
  await page.getByLabel('Email').fill(mailbox.address);
  await page.getByRole('button', { name: 'Send me a sign-in link' }).click();

  const message = await mailbox.waitForMessage({ subject: 'Sign in', timeout: 10_000 });
  await page.goto(message.links()[0]);

  await expect(page.getByRole('heading')).toHaveText(`Signed in as ${mailbox.address}`);
  await expect(mailbox).toHaveAccepted(1);
});

test('signs in with the 6-digit code from the mail', async ({ page, mailbox }) => {
  await page.goto('/');
  await page.getByLabel('Email').fill(mailbox.address);
  await page.getByRole('button', { name: 'Send me a code' }).click();

  const message = await mailbox.waitForMessage({ subject: 'code', timeout: 10_000 });
  const [code] = message.codes({ length: 6 });
  await page.getByLabel('Code').fill(code ?? '');
  await page.getByRole('button', { name: 'Sign in' }).click();

  await expect(page.getByRole('heading')).toHaveText(`Signed in as ${mailbox.address}`);
});
