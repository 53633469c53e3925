const { writeFileSync } = require('node:fs');
const { sharedSink, useSharedMailhole } = require('@mailhole/jest');
const { sendReceipt } = require('./app/mailer');

const WORKERS = 3;
const EACH = 3;
const mail = useSharedMailhole({ to: 'ada@example.test' });

test('the worker finds the shared sink in MAILHOLE_* variables', () => {
  expect(mail.port).toBe(Number(process.env.MAILHOLE_PORT));
  expect(mail.apiUrl).toBe(process.env.MAILHOLE_API_URL);
  expect(process.env.MAILHOLE_CA_FILE).toMatch(/ca\.pem$/);
  // Tells the run's driver where the CA file was, so it can check globalTeardown removed it.
  if (process.env.EXAMPLE_REPORT_FILE) {
    writeFileSync(process.env.EXAMPLE_REPORT_FILE, JSON.stringify({ caFile: process.env.MAILHOLE_CA_FILE }));
  }
});

test('ada sees only her own receipts while every worker sends', async () => {
  for (let order = 1; order <= EACH; order++) await sendReceipt('ada@example.test', order);
  // Wait until all three workers (jest -w 3) have sent: the sink then holds everyone's mail.
  const everyone = await sharedSink();
  await everyone.waitFor(WORKERS * EACH, { timeout: 30000 });
  expect(await mail.accepted()).toBe(EACH);
  const records = await mail.deliveries();
  expect(records.map((r) => r.recipients)).toEqual(Array(EACH).fill(['ada@example.test']));
  expect(records.every((r) => r.tls !== undefined)).toBe(true);
  await expect(mail).toHaveAccepted(EACH);
  await expect(mail).toHaveReceivedMailTo('ada@example.test');
}, 40000);

test('the next test starts counting from zero', async () => {
  expect(await mail.accepted()).toBe(0);
  await sendReceipt('ada@example.test', 'late');
  await expect(mail).toReceive(1, { timeout: 10000 });
});
