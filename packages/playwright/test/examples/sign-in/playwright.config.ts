import { startSharedMailhole } from '@mailhole/playwright';
import { defineConfig } from '@playwright/test';

// Before defineConfig: Playwright starts webServer before globalSetup, so the sink starts here.
// In the main process it starts the sink; in each worker it only reads MAILHOLE_* back.
const mailhole = await startSharedMailhole();
const port = Number(process.env.APP_PORT ?? 3000);

export default defineConfig({
  testDir: './tests',
  workers: 2,
  fullyParallel: true,
  webServer: {
    command: 'node app.mjs',
    url: `http://127.0.0.1:${port}`,
    // The app's own variable names, filled from the sink's.
    env: { PORT: String(port), SMTP_HOST: mailhole.MAILHOLE_HOST ?? '', SMTP_PORT: mailhole.MAILHOLE_PORT ?? '' },
  },
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    // Only for a system Chromium instead of Playwright's own download: CHROMIUM_PATH=/usr/bin/chromium
    ...(process.env.CHROMIUM_PATH && {
      launchOptions: {
        executablePath: process.env.CHROMIUM_PATH,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
      },
    }),
  },
});
