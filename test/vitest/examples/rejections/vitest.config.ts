import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*.test.ts'],
    testTimeout: 30_000,
    // Every sink of the project acts as if 127.0.0.0/8 were on Spamhaus ZEN, answering at RCPT.
    provide: { mailholeOptions: { rejections: [{ list: 'zen.spamhaus.org', listed: ['127.0.0.0/8'] }] } },
  },
});
