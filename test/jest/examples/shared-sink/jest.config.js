/** @type {import('jest').Config} */
module.exports = {
  globalSetup: '@mailhole/jest/global-setup',
  globalTeardown: '@mailhole/jest/global-teardown',
  setupFilesAfterEnv: ['@mailhole/jest/matchers'],
  // The shared sink's options: STARTTLS, so the app proves it verifies the server.
  testEnvironmentOptions: { mailholeShared: { tls: 'starttls', requireTls: true } },
};
