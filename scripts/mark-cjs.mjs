// Node decides a .js file's module format by the nearest package.json: the CommonJS build gets
// its own, so `require('@mailhole/core')` loads it as CommonJS inside Jest's sandbox.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) throw new Error('usage: mark-cjs.mjs <dist/cjs folder>');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
