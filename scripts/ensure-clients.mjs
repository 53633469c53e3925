// The tests drive the sink with real SMTP clients, not only our own code. This makes sure they are
// installed before the run starts, so a missing tool is one clear message instead of dozens of
// failing tests. When everything is there it only looks at the file system (no apt call).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { locate } from './locate-command.mjs';

/** Each client the tests run, and the Debian package that ships it. */
const clients = [
  { command: 'swaks', pkg: 'swaks' },
  { command: 'smtp-source', pkg: 'postfix' },
  { command: 'smtp-sink', pkg: 'postfix' },
  { command: 'curl', pkg: 'curl' },
  { command: 'openssl', pkg: 'openssl' },
  { command: 'python3', pkg: 'python3' },
  // Debian's Chromium (Playwright cannot download its own browser here): the browser of the Playwright
  // end-to-end examples, and of the web inbox's browser tests (driven with playwright-core).
  { command: 'chromium', pkg: 'chromium' },
];

function missingClients() {
  return clients.filter(({ command }) => locate(command) === undefined);
}

function run(command, args, input) {
  const result = spawnSync(command, args, {
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  }
}

function install(packages) {
  console.log(`ensure-clients: installing ${packages.join(' ')} with apt-get`);
  run('apt-get', ['update']);
  if (packages.includes('postfix')) {
    // Only the postfix binaries are wanted: no mail system configuration, no prompt.
    run('debconf-set-selections', [], 'postfix postfix/main_mailer_type select No configuration\n');
  }
  // policy-rc.d answering 101 tells the package scripts not to start any service (postfix must not run).
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    run('apt-get', ['install', '-y', ...packages]);
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}

function explain(missing) {
  const packages = [...new Set(missing.map((client) => client.pkg))];
  const names = missing.map((client) => `${client.command} (Debian package ${client.pkg})`).join(', ');
  const lines = [
    `ensure-clients: the tests need these SMTP clients, which are missing: ${names}.`,
    'Install them with:',
  ];
  if (packages.includes('postfix')) {
    lines.push('  echo "postfix postfix/main_mailer_type select No configuration" | sudo debconf-set-selections');
  }
  lines.push(`  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages.join(' ')}`);
  if (packages.includes('postfix')) {
    lines.push(
      '(postfix installs smtp-source and smtp-sink to /usr/sbin; its mail service is not needed, do not start it.)',
    );
  }
  return lines.join('\n');
}

let missing = missingClients();
if (missing.length === 0) {
  console.log(`ensure-clients: ${clients.map((client) => client.command).join(', ')} present`);
  process.exit(0);
}

const isRoot = process.getuid?.() === 0;
if (!isRoot || locate('apt-get') === undefined) {
  console.error(explain(missing));
  process.exit(1);
}

try {
  install([...new Set(missing.map((client) => client.pkg))]);
} catch (error) {
  console.error(`ensure-clients: apt-get failed: ${error instanceof Error ? error.message : error}`);
  console.error(explain(missing));
  process.exit(1);
}

missing = missingClients();
if (missing.length > 0) {
  console.error(explain(missing));
  process.exit(1);
}
console.log('ensure-clients: all SMTP clients installed');
