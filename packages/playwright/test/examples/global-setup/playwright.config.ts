import { defineConfig } from '@playwright/test';

const port = Number(process.env.APP_PORT ?? 3000);

// The other documented setup: globalSetup files, in order. Playwright starts webServer BEFORE
// globalSetup, so the app is started by the globalSetup after mailhole's, which has published
// MAILHOLE_* by then.
export default defineConfig({
  testDir: './tests',
  workers: 2,
  fullyParallel: true,
  globalSetup: ['@mailhole/playwright/global-setup', './start-app.ts'],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    ...(process.env.CHROMIUM_PATH && {
      launchOptions: {
        executablePath: process.env.CHROMIUM_PATH,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
      },
    }),
  },
});
