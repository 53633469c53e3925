// Where an outside program lives, shared by scripts/ensure-clients.mjs and the benchmark suite.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

// Postfix installs its test programs (smtp-source, smtp-sink) in /usr/sbin, which a non-root PATH often lacks.
const searchPath = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(
  Boolean,
);

/**
 * The full path of the executable `command` on PATH or in the sbin folders, or undefined if there is none.
 *
 * @example const smtpSource = locate('smtp-source'); // '/usr/sbin/smtp-source'
 */
export function locate(command) {
  for (const dir of searchPath) {
    const file = join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}
