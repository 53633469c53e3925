import type { StartOptions } from '@mailhole/core';

/**
 * Sink options out of a Jest config's `testEnvironmentOptions[key]` (the docblock's
 * `@jest-environment-options` is merged into it by Jest). Bad values fail here with the config
 * path, and again in `startSink` with the option's rules.
 */
export function optionsFromConfig(
  testEnvironmentOptions: Record<string, unknown> | undefined,
  key: string,
  entry: string,
): StartOptions {
  const value = testEnvironmentOptions?.[key];
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `${entry}: testEnvironmentOptions.${key} must be an object of sink options such as { "tls": "starttls" }, got ${JSON.stringify(value)}`,
    );
  }
  return { ...(value as StartOptions) };
}

/** Prefixes a startSink error with where its options came from, keeping the original as `cause`. */
export function configError(error: unknown, entry: string, where: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new (error instanceof RangeError ? RangeError : error instanceof TypeError ? TypeError : Error)(
    `${entry}: could not start the sink from ${where}: ${message}`,
    { cause: error },
  );
}
