// What the numbers were measured on: they mean little without it, and less without the load.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

function packageVersion(name) {
  try {
    const file = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return JSON.parse(readFileSync(file, 'utf8')).version;
  } catch {
    return undefined;
  }
}

function postfixVersion() {
  try {
    // dpkg-query's own format syntax, not a template string.
    const format = '-f=$' + '{Version}';
    return execFileSync('dpkg-query', ['-W', format, 'postfix'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** CPU model, cores, memory, Node and peer versions, and the load average right now. */
export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postfix: postfixVersion(),
    smtpServer: packageVersion('smtp-server'),
    nodemailer: packageVersion('nodemailer'),
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
    date: new Date().toISOString(),
  };
}

/** The load average now (1, 5, 15 minutes). */
export function loadAverage() {
  return os.loadavg().map((v) => Math.round(v * 100) / 100);
}
