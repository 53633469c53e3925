import { expect, test } from '@mailhole/vitest';
import { sendMail } from '../send-mail.js';

const mailsPerTest = [1, 2, 3, 4];
const ports = new Set<number>();

// Each test waits here until every test has its sink: the sinks are provably alive side by side.
let arrived = 0;
let everyoneStarted: () => void = () => {};
const allStarted = new Promise<void>((resolve) => {
  everyoneStarted = resolve;
});

for (const count of mailsPerTest) {
  test.concurrent(`a concurrent test sending ${count} mail(s) counts exactly its own`, async ({ mailhole }) => {
    ports.add(mailhole.port);
    if (++arrived === mailsPerTest.length) everyoneStarted();
    await allStarted;

    const mails = Array.from({ length: count }, (_, i) => ({ to: `user${i}@port-${mailhole.port}.test` }));
    await sendMail({ host: mailhole.host, port: mailhole.port }, ...mails);
    await expect(mailhole).toReceive(count, { timeout: 10_000 });
    expect(mailhole).toHaveAccepted(count);
  });
}

test('every concurrent test had a sink on a port of its own', () => {
  expect(ports.size).toBe(mailsPerTest.length);
});
