import { defineConfig } from 'vitest/config';

// Generous limits: these examples run on busy CI machines, and nothing here measures speed.
export default defineConfig({ test: { include: ['*.test.ts'], testTimeout: 30_000 } });
