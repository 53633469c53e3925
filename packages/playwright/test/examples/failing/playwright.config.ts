import { startSharedMailhole } from '@mailhole/playwright';
import { defineConfig } from '@playwright/test';

await startSharedMailhole();

// No browser: these tests send mail themselves and fail on purpose, to show the failure messages.
export default defineConfig({ testDir: './tests', workers: 1 });
