/** @type {import('jest').Config} */
module.exports = {
  globalSetup: '@mailhole/jest/global-setup',
  globalTeardown: '@mailhole/jest/global-teardown',
  testEnvironment: '@mailhole/jest/environment',
  setupFilesAfterEnv: ['@mailhole/jest/matchers'],
};
