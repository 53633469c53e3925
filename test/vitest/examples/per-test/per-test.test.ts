import { expect, test } from '@mailhole/vitest';
import { createTransport } from 'nodemailer';
import { sendMail } from '../send-mail.js';

const ports: number[] = [];

test('a test that names mailhole gets a started sink that counts its mail', async ({ mailhole }) => {
  await sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'ada@example.test' });
  expect(mailhole.accepted).toBe(1);
  expect(mailhole.deliveries()[0]?.recipients).toEqual(['ada@example.test']);
  ports.push(mailhole.port);
});

test('the next test gets a new sink whose count starts at 0', async ({ mailhole }) => {
  expect(mailhole.accepted).toBe(0);
  await sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'bob@example.test' }, { to: 'cy@example.test' });
  await mailhole.waitFor(2);
  expect(mailhole.accepted).toBe(2);
  ports.push(mailhole.port);
});

test('a pooled client left open does not keep the sink alive', async ({ mailhole }) => {
  // Never closed: the sink must end the idle pooled connection when the test is over.
  const pooled = createTransport({ host: mailhole.host, port: mailhole.port, pool: true, ignoreTLS: true });
  await pooled.sendMail({ from: 'app@example.test', to: 'dee@example.test', text: 'pooled' });
  expect(mailhole.accepted).toBe(1);
});

test('a test that does not name mailhole starts no sink, and earlier sinks are closed', async () => {
  // A closed listener leaves Node's handle list in the loop's close phase, one turn after close().
  await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
  const servers = process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap');
  expect(servers).toEqual([]);
  expect(new Set(ports).size).toBe(2);
});
