import { describe, expect } from '@mailhole/vitest';
import { test } from './fixtures.js';

test('an app fixture built on mailhole sends through the test sink', async ({ mailer, mailhole }) => {
  await mailer.sendWelcome('ada@example.test');
  expect(mailhole).toHaveAccepted(1);
  expect(mailhole.deliveries()[0]?.sender).toBe('welcome@example.test');
});

describe('with whole messages captured', () => {
  test.override({ mailholeOptions: { capture: 'full' } });

  test('options set for a suite reach the sink behind the app fixture', async ({ mailer, mailhole }) => {
    await mailer.sendWelcome('bob@example.test');
    expect(mailhole).toHaveReceivedMailTo('bob@example.test');
    expect(mailhole.options.capture).toBe('full');
    expect(mailhole.deliveries()[0]?.subject).toBe('hello');
  });
});
