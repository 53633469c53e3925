import { expect, test } from '@mailhole/vitest';
import { sendMail } from '../send-mail.js';

test('a sign-up mail reaches the shared sink', async ({ sharedMailhole }) => {
  await sendMail({ host: sharedMailhole.host, port: sharedMailhole.port }, { to: 'ada@signups.test' });
  await expect(sharedMailhole).toReceive(1);
  await expect(sharedMailhole).toHaveAccepted(1);
  console.log(`shared sink ${sharedMailhole.port}`);
});

test('the next test counts from 0 on the same sink', async ({ sharedMailhole, sharedMailholeSink }) => {
  await expect(sharedMailhole).toHaveAccepted(0);
  await sendMail(
    { host: sharedMailhole.host, port: sharedMailhole.port },
    { to: 'bob@signups.test' },
    { to: 'cy@signups.test' },
  );
  expect(await sharedMailhole.accepted()).toBe(2);
  await expect(sharedMailhole).toHaveReceivedMailTo('cy@signups.test');
  // The sink itself has everything this file sent (and whatever other files sent before).
  expect(await sharedMailholeSink.accepted()).toBeGreaterThanOrEqual(3);
});
