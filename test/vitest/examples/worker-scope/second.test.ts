import { expect } from '@mailhole/vitest';
import { sendMail } from '../send-mail.js';
import { sentByThisWorker, test } from './fixtures.js';

test('the second file counts its own 2 deliveries on the worker sink', async ({ mailhole, mailholeSink }) => {
  expect(mailhole.accepted).toBe(0);
  const mails = Array.from({ length: 2 }, (_, i) => ({ to: `second-${i}@example.test` }));
  await sendMail({ host: mailhole.host, port: mailhole.port }, ...mails);
  expect(mailhole).toHaveAccepted(2);
  sentByThisWorker.count += 2;
  // The worker's sink has seen every file's mail so far, not only this file's.
  expect(mailholeSink.accepted).toBe(sentByThisWorker.count);
  console.log(`worker sink ${mailholeSink.port} has accepted ${mailholeSink.accepted}`);
});
