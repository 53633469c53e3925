// Compiled, never run: proves the typings, which the example tests only use the happy way.
import {
  type MailholeScopedFixtures,
  type RemoteSinkView,
  type Sink,
  type SinkView,
  test,
  withMailhole,
  withSharedMailhole,
} from '@mailhole/vitest';
import { createGlobalSetup } from '@mailhole/vitest/global-setup';
import { expect, inject, test as vitestTest } from 'vitest';

export function typings(sink: Sink, view: SinkView): void {
  expect(sink).toHaveAccepted(1);
  expect(view).not.toHaveReceivedMailTo('ada@example.test');
  const waiting: Promise<void> = expect(sink).toReceive(2, { timeout: 1000 });
  void waiting;

  // @ts-expect-error the count is a number
  expect(sink).toHaveAccepted('one');
  // @ts-expect-error toReceive's options are an object
  void expect(sink).toReceive(1, 1000);
  // @ts-expect-error not a matcher of mailhole's
  expect(sink).toHaveAcceptedMail(1);

  test('per-test fixtures are sinks', ({ mailhole, mailholeSink }) => {
    const own: Sink = mailhole;
    const same: Sink = mailholeSink;
    void own;
    void same;
  });

  const fileTest = withMailhole(vitestTest, { scope: 'file' });
  fileTest('file-scoped fixtures are a view and the shared sink', ({ mailhole, mailholeSink }) => {
    const mine: SinkView = mailhole;
    const shared: MailholeScopedFixtures['mailholeSink'] = mailholeSink;
    // A view offers the sink's client TLS settings too, so STARTTLS tests work in every scope.
    void mailhole.clientTls;
    void mine;
    void shared.clientTls();
  });

  test.override({ mailholeOptions: { tls: 'starttls', capture: 'full' } });
  // @ts-expect-error not a TLS mode
  test.override({ mailholeOptions: { tls: 'sometimes' } });

  const options = inject('mailholeOptions');
  void options;

  const shared = inject('mailhole');
  const apiUrl: string = shared.apiUrl;
  void apiUrl;
  test('the shared sink is reached through a remote view', async ({ sharedMailhole, sharedMailholeSink }) => {
    const view: RemoteSinkView = sharedMailhole;
    const count: number = await view.accepted();
    await expect(sharedMailhole).toHaveAccepted(count);
    await expect(await sharedMailholeSink.view({ to: 'ada@example.test' })).toReceive(1);
  });
  withSharedMailhole(vitestTest)('withSharedMailhole adds the shared fixtures alone', ({ sharedMailhole }) => {
    void sharedMailhole.port;
  });

  const setup = createGlobalSetup({ tls: 'starttls', apiPort: 0 });
  void setup;
  // @ts-expect-error the control API is configured by apiPort and token, not api
  createGlobalSetup({ api: true });
}
