// Run by hostile-security.test.ts in a fresh process whose working directory, HOME and TMPDIR are
// empty folders. Before the sink is even imported, every way out of the process is watched: TCP
// connects, DNS lookups, UDP sockets, HTTP requests, file writes. The sink then serves clients of
// the test; on "report" (stdin) this prints what went out, what the sink recorded and emitted, and
// exits. Anything a client sent that left the process would show up here.
//
// argv[2]: JSON of the startSink options.
// stdout line 1: JSON { port, tlsPort, apiUrl, ca }; line 2 (after "report"): JSON report.
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

const escapes = [];
let armed = false;
const watch = (owner, name, label) => {
  const original = owner[name];
  if (typeof original !== 'function') return;
  owner[name] = function watched(...args) {
    if (armed) escapes.push(`${label}(${String(args[0]).slice(0, 200)})`);
    return original.apply(this, args);
  };
};

watch(net.Socket.prototype, 'connect', 'net.Socket.connect');
for (const name of Object.keys(dns)) if (/^(lookup|resolve)/.test(name)) watch(dns, name, `dns.${name}`);
for (const name of Object.keys(dns.promises))
  if (/^(lookup|resolve)/.test(name)) watch(dns.promises, name, `dns.promises.${name}`);
watch(dgram, 'createSocket', 'dgram.createSocket');
for (const name of ['request', 'get']) {
  watch(http, name, `http.${name}`);
  watch(https, name, `https.${name}`);
}
const writes = [
  'writeFile',
  'appendFile',
  'createWriteStream',
  'mkdir',
  'mkdtemp',
  'rename',
  'copyFile',
  'symlink',
  'link',
  'truncate',
  'cp',
];
for (const name of writes) {
  watch(fs, name, `fs.${name}`);
  watch(fs, `${name}Sync`, `fs.${name}Sync`);
  watch(fs.promises, name, `fs.promises.${name}`);
}
for (const name of ['open', 'openSync']) {
  const original = fs[name];
  fs[name] = function watched(path, flags, ...rest) {
    if (armed && typeof flags === 'string' && /[wa+]/.test(flags)) escapes.push(`fs.${name}(${path}, ${flags})`);
    return original.call(this, path, flags, ...rest);
  };
}
// ESM imports of the builtins (import { writeFile } from 'node:fs/promises') see the watched versions.
syncBuiltinESMExports();

const { startSink } = await import('@mailhole/core');
const sink = await startSink(JSON.parse(process.argv[2]));
const events = [];
for (const event of ['delivery', 'connection', 'disconnect', 'transaction', 'recipient', 'fault', 'error']) {
  sink.on(event, (...args) => events.push({ event, args }));
}
armed = true;
process.stdout.write(
  `${JSON.stringify({ port: sink.port, tlsPort: sink.tlsPort, apiUrl: sink.apiUrl, ca: sink.ca })}\n`,
);

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', async (chunk) => {
  input += chunk;
  if (!input.includes('report\n')) return;
  // Connections the clients just closed finish closing on this side first (bounded wait).
  const socketCount = () =>
    process.getActiveResourcesInfo().filter((h) => h === 'TCPSocketWrap' || h === 'TLSWrap').length;
  for (let i = 0; i < 750 && (sink.stats().activeConnections > 0 || socketCount() > 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const handles = process.getActiveResourcesInfo();
  const report = {
    escapes,
    // Sockets other than the ones clients opened to the sink: there are none to open.
    sockets: handles.filter((h) => h === 'TCPSocketWrap' || h === 'TLSWrap' || h === 'UDPWrap').length,
    activeConnections: sink.stats().activeConnections,
    stats: sink.stats(),
    describe: sink.describe(),
    deliveries: sink.deliveries({ includeRejected: true }),
    messages: sink.messages().map((m) => m.raw.toString('latin1')),
    events,
  };
  armed = false;
  await sink.close();
  process.stdout.write(
    `${JSON.stringify(report, (_, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString('latin1') : v))}\n`,
  );
  process.exit(0);
});
