/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '@mailhole/jest/environment',
  setupFilesAfterEnv: ['@mailhole/jest/matchers'],
};
