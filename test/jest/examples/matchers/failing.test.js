// Every test here fails on purpose: the run checks that the messages say what happened.
const { useSharedMailhole } = require('@mailhole/jest');
const { send } = require('./send');

test('fails: toHaveAccepted with the wrong count', async () => {
  await send('ada@example.test', 'Your invoice');
  expect(mailhole).toHaveAccepted(2);
});

test('fails: toHaveReceivedMailTo with a recipient that got nothing', async () => {
  await send('grace@example.test');
  expect(mailhole).toHaveReceivedMailTo('alan@example.test');
});

test('fails: toReceive when the mail never comes', async () => {
  await send('edsger@example.test');
  await expect(mailhole).toReceive(2, { timeout: 300 });
});

test('fails: toHaveAccepted on something that is not a sink', () => {
  expect({ port: 25 }).toHaveAccepted(1);
});

describe('on the shared sink', () => {
  const shared = useSharedMailhole({ to: 'remote@example.test' });

  test('fails: toHaveAccepted with the report of the remote sink', async () => {
    await send('remote@example.test', 'Shared', shared.port);
    await expect(shared).toHaveAccepted(3);
  });
});
