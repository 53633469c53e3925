// Native ES modules: run Jest with `node --experimental-vm-modules`, and no transform.
/** @type {import('jest').Config} */
export default {
  testEnvironment: '@mailhole/jest/environment',
  setupFilesAfterEnv: ['@mailhole/jest/matchers'],
  transform: {},
};
