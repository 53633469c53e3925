import { createGlobalSetup } from '@mailhole/vitest/global-setup';

// The run's shared sink, keeping whole messages so tests can check subjects and headers.
export default createGlobalSetup({ capture: 'full' });
