import { expect, test } from '@mailhole/vitest';
import { inject } from 'vitest';
import { sendMail } from '../send-mail.js';

test('an invoice mail reaches the same shared sink', async ({ sharedMailhole }) => {
  await sendMail({ host: sharedMailhole.host, port: sharedMailhole.port }, { to: 'ada@invoices.test' });
  await expect(sharedMailhole).toReceive(1);
  const deliveries = await sharedMailhole.deliveries();
  expect(deliveries.map((d) => d.recipients)).toEqual([['ada@invoices.test']]);
  // The setup file asked the shared sink for whole messages.
  expect(deliveries[0]?.subject).toBe('hello');
  console.log(`shared sink ${sharedMailhole.port}`);
});

test('code outside the fixtures finds the sink by inject() and by the environment', () => {
  const address = inject('mailhole');
  expect(address.url).toBe(`smtp://${address.host}:${address.port}`);
  expect(process.env.MAILHOLE_PORT).toBe(String(address.port));
  expect(process.env.MAILHOLE_API_URL).toBe(address.apiUrl);
});
