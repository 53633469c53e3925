/// <reference types="@mailhole/vitest/matchers" />
// The reference brings the matchers' types; the config's setupFiles registers them at run time.
import { type Sink, startSink } from '@mailhole/core';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { sendMail } from '../send-mail.js';

let sink: Sink;
beforeEach(async () => {
  sink = await startSink();
});
afterEach(async () => {
  await sink.close();
});

test('the matchers registered by setupFiles read a sink started by hand', async () => {
  await sendMail({ host: sink.host, port: sink.port }, { to: 'ada@example.test' });
  expect(sink).toHaveAccepted(1);
  expect(sink).toHaveReceivedMailTo('ada@example.test');
  await expect(sink).toReceive(1);
});
