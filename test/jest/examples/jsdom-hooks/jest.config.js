/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'jsdom',
  setupFiles: ['./node-timers.js'],
  setupFilesAfterEnv: ['@mailhole/jest/matchers'],
};
