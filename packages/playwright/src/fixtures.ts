import { connectSink, createMailbox, type Mailbox, type RemoteSink } from '@mailhole/core';
import type {
  Fixtures,
  PlaywrightTestArgs,
  PlaywrightTestOptions,
  PlaywrightWorkerArgs,
  PlaywrightWorkerOptions,
  TestInfo,
} from '@playwright/test';

/** Fixtures of `@mailhole/playwright`'s `test`. */
export interface MailholeTestFixtures {
  /**
   * A unique address on the run's shared sink for this test (`mailbox.address`); waits only for
   * mail to it, so tests in parallel workers against one app never see each other's mail.
   */
  mailbox: Mailbox;
  /** Domain of every mailbox address (default `mailhole.test`); an option: `test.use({ mailboxDomain: 'example.test' })`. */
  mailboxDomain: string;
}

/** Worker fixtures of `@mailhole/playwright`'s `test`. */
export interface MailholeWorkerFixtures {
  /** The run's shared sink, connected once per worker through its control API (`MAILHOLE_API_URL`). */
  sink: RemoteSink;
}

const SETUP_HINT =
  'start the shared sink before the tests: `await startSharedMailhole()` at the top of playwright.config ' +
  "(or globalSetup: '@mailhole/playwright/global-setup'); see the @mailhole/playwright README";

type Use<T> = (value: T) => Promise<void>;

/** The fixture definitions, ready for `test.extend` of a `test` of your own. */
export const mailholeFixtures: Fixtures<
  MailholeTestFixtures,
  MailholeWorkerFixtures,
  PlaywrightTestArgs & PlaywrightTestOptions,
  PlaywrightWorkerArgs & PlaywrightWorkerOptions
> = {
  sink: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from its destructured first parameter, and this one has none.
    async ({}, use: Use<RemoteSink>) => {
      const apiUrl = process.env.MAILHOLE_API_URL;
      if (apiUrl === undefined || apiUrl === '')
        throw new Error(`The sink fixture found no MAILHOLE_API_URL: ${SETUP_HINT}`);
      await use(await connectSink(apiUrl));
    },
    { scope: 'worker' },
  ],
  mailboxDomain: ['mailhole.test', { option: true }],
  mailbox: async (
    { sink, mailboxDomain }: { sink: RemoteSink; mailboxDomain: string },
    use: Use<Mailbox>,
    testInfo: TestInfo,
  ) => {
    const mailbox = createMailbox(sink, { domain: mailboxDomain, prefix: slug(testInfo.title) });
    await use(mailbox);
    if (testInfo.status !== testInfo.expectedStatus) {
      // A courtesy for the report: an unreachable sink must not hide the test's own error.
      const report = await mailbox
        .describe()
        .catch((error: Error) => `(the shared sink could not say: ${error.message})`);
      await testInfo.attach('mailhole', { body: report, contentType: 'text/plain' });
    }
  },
};

// The test's title in the address makes a report readable: `signs-in-with-a-link-3f9a0c1b2d@mailhole.test`.
function slug(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 24)
    .replace(/-+$/, '');
}
