import { type MailholeTestFixtures, mailholeFixtures } from '@mailhole/vitest';
import { test as base } from 'vitest';
import { sendMail } from '../send-mail.js';

/** The application under test, wired to whatever SMTP server its fixture gives it. */
export interface Mailer {
  sendWelcome(to: string): Promise<void>;
}

// Fixtures from elsewhere (another library, the project's own), then mailhole's, then an app
// fixture that depends on `mailhole`: tests name `mailer` and get an app pointed at a fresh sink.
export const test = base
  .extend<{ sender: string }>({ sender: 'welcome@example.test' })
  .extend<MailholeTestFixtures>(mailholeFixtures())
  .extend<{ mailer: Mailer }>({
    mailer: async ({ mailhole, sender }, use) => {
      await use({ sendWelcome: (to) => sendMail({ host: mailhole.host, port: mailhole.port }, { from: sender, to }) });
    },
  });
