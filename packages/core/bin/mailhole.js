#!/usr/bin/env node
// The `mailhole` command. This file is committed (dist/ is not): pnpm and npm link a bin when they
// install, and in a fresh checkout that happens before the build, so a bin that pointed into dist/
// would fail to link ("Failed to create bin") and stay missing until the next install.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/esm/cli/main.js', import.meta.url);
if (existsSync(main)) {
  await import(main.href);
} else {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  process.stderr.write(
    `mailhole: the CLI is not built yet (${fileURLToPath(main)} is missing).\n` +
      `Run \`pnpm build\` in ${root} (a checkout of mailhole), then run mailhole again.\n`,
  );
  process.exitCode = 1;
}
