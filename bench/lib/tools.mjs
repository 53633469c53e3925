// The outside programs the suite drives, found once: Postfix's smtp-source and smtp-sink, prlimit.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { locate } from '../../scripts/locate-command.mjs';

function fileLimit() {
  const out = spawnSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).stdout.trim().split('\n');
  const parse = (v) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  return { soft: parse(out[0]), hard: parse(out[1]) };
}

function resolvable(name) {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

export const tools = {
  smtpSource: locate('smtp-source'),
  smtpSink: locate('smtp-sink'),
  prlimit: locate('prlimit'),
  fileLimit: fileLimit(),
  smtpServer: resolvable('smtp-server'),
  nodemailer: resolvable('nodemailer'),
};

/**
 * Runs scripts/ensure-clients.mjs (it installs postfix and swaks with apt-get when run as root, or
 * prints the exact install command) and returns what is still missing, each with how to get it.
 */
export function ensureTools() {
  const script = fileURLToPath(new URL('../../scripts/ensure-clients.mjs', import.meta.url));
  const result = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  tools.smtpSource = locate('smtp-source');
  tools.smtpSink = locate('smtp-sink');
  tools.prlimit = locate('prlimit');
  const missing = [];
  if (result.status !== 0) missing.push('scripts/ensure-clients.mjs failed (see above)');
  if (tools.smtpSource === undefined)
    missing.push('smtp-source: apt-get install postfix (Debian; it lands in /usr/sbin)');
  if (tools.smtpSink === undefined) missing.push('smtp-sink: apt-get install postfix (Debian; it lands in /usr/sbin)');
  if (!tools.smtpServer)
    missing.push('smtp-server: cd to the repository root and run pnpm install (a root devDependency)');
  if (!tools.nodemailer)
    missing.push('nodemailer: cd to the repository root and run pnpm install (a root devDependency)');
  if (tools.prlimit === undefined && tools.fileLimit.soft < 12_000) {
    missing.push(
      `prlimit (util-linux): the open-file limit is ${tools.fileLimit.soft}, the idle-connection scenario needs 12000`,
    );
  }
  return missing;
}
