// Every test here fails on purpose: the run is checked for what the failures say about the shared sink.
import { expect, test } from '@mailhole/vitest';
import { sendMail } from '../send-mail.js';

test('toHaveAccepted on the shared sink with too few deliveries', async ({ sharedMailhole }) => {
  await sendMail({ host: sharedMailhole.host, port: sharedMailhole.port }, { to: 'ada@shared.test' });
  await expect(sharedMailhole).toHaveAccepted(2);
});

test('a plain assertion failure shows what the shared sink saw', async ({ sharedMailhole }) => {
  await sendMail({ host: sharedMailhole.host, port: sharedMailhole.port }, { to: 'bob@shared.test' });
  expect((await sharedMailhole.deliveries()).map((d) => d.recipients[0])).toEqual(['cy@shared.test']);
});
