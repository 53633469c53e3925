import { expect, test } from '@mailhole/vitest';
import { sendMail } from '../send-mail.js';

// Concurrent tests on one sink see each other's mail in a plain window: each scopes its own by recipient.
for (const [user, count] of [
  ['ada', 1],
  ['bob', 2],
  ['cy', 3],
] as const) {
  test.concurrent(`${user} gets exactly ${count} mail(s) while the others send too`, async ({ sharedMailholeSink }) => {
    const to = `${user}@concurrent.test`;
    const mine = await sharedMailholeSink.view({ to });
    const mails = Array.from({ length: count }, () => ({ to }));
    await sendMail({ host: sharedMailholeSink.host, port: sharedMailholeSink.port }, ...mails);
    await expect(mine).toReceive(count, { timeout: 10_000 });
    await expect(mine).toHaveAccepted(count);
    console.log(`shared sink ${sharedMailholeSink.port}`);
  });
}
