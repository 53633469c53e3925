/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '@mailhole/jest/environment',
  // Every file's sink answers unknown recipients of gone.test as Microsoft 365 does.
  testEnvironmentOptions: {
    mailhole: { rejections: [{ preset: 'microsoft.unknownUser', recipient: '*@gone.test' }] },
  },
};
