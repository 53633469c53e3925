import { expect } from '@mailhole/vitest';
import { sendMail } from '../send-mail.js';
import { test } from './fixtures.js';

let firstPort = 0;

test('the first test counts its own two deliveries', async ({ mailhole, mailholeSink }) => {
  await sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'ada@example.test' }, { to: 'bob@example.test' });
  expect(mailhole).toHaveAccepted(2);
  expect(mailholeSink.accepted).toBe(2);
  firstPort = mailhole.port;
});

test('the next test shares the sink but counts from 0', async ({ mailhole, mailholeSink }) => {
  expect(mailhole.port).toBe(firstPort);
  expect(mailhole.accepted).toBe(0);
  await sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'cy@example.test' });
  expect(mailhole).toHaveAccepted(1);
  expect(mailhole.deliveries().map((d) => d.recipients[0])).toEqual(['cy@example.test']);
  expect(mailholeSink.accepted).toBe(3);
});
