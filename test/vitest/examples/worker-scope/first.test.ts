import { expect } from '@mailhole/vitest';
import { sendMail } from '../send-mail.js';
import { sentByThisWorker, test } from './fixtures.js';

test('the first file counts its own 1 deliveries on the worker sink', async ({ mailhole, mailholeSink }) => {
  expect(mailhole.accepted).toBe(0);
  const mails = Array.from({ length: 1 }, (_, i) => ({ to: `first-${i}@example.test` }));
  await sendMail({ host: mailhole.host, port: mailhole.port }, ...mails);
  expect(mailhole).toHaveAccepted(1);
  sentByThisWorker.count += 1;
  // The worker's sink has seen every file's mail so far, not only this file's.
  expect(mailholeSink.accepted).toBe(sentByThisWorker.count);
  console.log(`worker sink ${mailholeSink.port} has accepted ${mailholeSink.accepted}`);
});
