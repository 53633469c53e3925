import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import { type Sink, type SinkView, type StartOptions, startSink } from '@mailhole/core';
import { TestEnvironment as NodeEnvironment } from 'jest-environment-node';
import { createHandle, sandboxRealm } from './handle.js';
import { configError, optionsFromConfig } from './options.js';

/**
 * Jest's Node environment plus a sink per test file, exposed as the global `mailhole`;
 * `mailhole.accepted` counts the current test's deliveries (0 when each test starts).
 * Options: `testEnvironmentOptions: { mailhole: { tls: 'starttls' } }`, or per file with the
 * `@jest-environment-options {"mailhole": {…}}` docblock.
 *
 * @example // jest.config.js
 * module.exports = { testEnvironment: '@mailhole/jest/environment' };
 */
export default class MailholeEnvironment extends NodeEnvironment {
  private readonly sinkOptions: StartOptions;
  private sink: Sink | undefined;
  private view: SinkView | undefined;

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.sinkOptions = optionsFromConfig(
      config.projectConfig.testEnvironmentOptions,
      'mailhole',
      '@mailhole/jest/environment',
    );
  }

  override async setup(): Promise<void> {
    await super.setup();
    try {
      this.sink = await startSink(this.sinkOptions);
    } catch (error) {
      throw configError(error, '@mailhole/jest/environment', 'testEnvironmentOptions.mailhole');
    }
    this.view = this.sink.view();
    const sink = this.sink;
    const view = this.view;
    this.global.mailhole = createHandle(() => ({ sink, view }), sandboxRealm(this.global));
  }

  // test_start comes before the test's beforeEach hooks: mail they send counts for the test.
  handleTestEvent(event: { name: string }): void {
    if (event.name === 'test_start') this.view?.reset();
  }

  override async teardown(): Promise<void> {
    const sink = this.sink;
    this.sink = undefined;
    this.view = undefined;
    try {
      await sink?.close();
    } finally {
      await super.teardown();
    }
  }
}

export { MailholeEnvironment as TestEnvironment };
