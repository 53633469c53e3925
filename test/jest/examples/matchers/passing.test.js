const { useSharedMailhole } = require('@mailhole/jest');
const { send } = require('./send');

test('toHaveAccepted counts the current test', async () => {
  expect(mailhole).toHaveAccepted(0);
  await send('ada@example.test');
  expect(mailhole).toHaveAccepted(1);
  expect(mailhole).not.toHaveAccepted(2);
});

test('toHaveReceivedMailTo looks for an envelope recipient', async () => {
  await send(['grace@example.test', 'alan@example.test']);
  expect(mailhole).toHaveReceivedMailTo('alan@example.test');
  expect(mailhole).not.toHaveReceivedMailTo('ada@example.test');
});

test('toReceive waits for mail still on its way', async () => {
  const sending = send('edsger@example.test');
  await expect(mailhole).toReceive(1, { timeout: 10000 });
  await sending;
});

test('.not.toReceive waits out the timeout', async () => {
  await expect(mailhole).not.toReceive(1, { timeout: 200 });
});

test('the matchers work on the whole sink too', async () => {
  await send('barbara@example.test');
  expect(mailhole.sink).toHaveAccepted(4);
  expect(mailhole.sink).toHaveReceivedMailTo('ada@example.test');
});

describe('on the shared sink, through its control API', () => {
  const shared = useSharedMailhole({ to: 'ada@example.test' });

  test('the matchers are awaited', async () => {
    await send('ada@example.test', 'Shared', shared.port);
    await expect(shared).toReceive(1, { timeout: 10000 });
    await expect(shared).toHaveAccepted(1);
    await expect(shared).toHaveReceivedMailTo('ada@example.test');
    await expect(shared).not.toHaveReceivedMailTo('grace@example.test');
  });
});
