// A JavaScript config on purpose: a jest.config.ts needs ts-node, which does not run with TypeScript 7.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '@mailhole/jest/environment',
  testEnvironmentOptions: { mailhole: { capture: 'full' } },
  setupFilesAfterEnv: ['@mailhole/jest/matchers'],
  transform: { '^.+\\.ts$': '@swc/jest' },
};
