#!/usr/bin/env node
// Opens many SMTP connections and leaves them idle after the greeting, to weigh what an idle session costs.
//
//   node bench/clients/idle-client.mjs --port 2525 [--connections 10000] [--parallel 200]
//
// Prints one JSON line { open, elapsedMs, errors } once every connection got its greeting (or failed),
// then holds them until its standard input closes (or SIGTERM), and exits.
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    connections: { type: 'string', default: '10000' },
    parallel: { type: 'string', default: '200' },
  },
});
const port = Number(values.port);
const wanted = Number(values.connections);
const sockets = [];
const errors = [];
let open = 0;

function greeted() {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    let text = '';
    const onData = (chunk) => {
      text += chunk.toString('latin1');
      if (!text.includes('\n')) return;
      socket.off('data', onData);
      if (text.startsWith('220')) open++;
      else if (errors.length < 10) errors.push(`greeting: ${text.trim()}`);
      resolve();
    };
    socket.on('data', onData);
    socket.on('error', (error) => {
      if (errors.length < 10) errors.push(error.message);
      resolve();
    });
  });
}

const started = performance.now();
let next = 0;
// A bounded number of handshakes at once, so the listen backlog never overflows.
await Promise.all(
  Array.from({ length: Number(values.parallel) }, async () => {
    while (next < wanted) {
      next++;
      await greeted();
    }
  }),
);
process.stdout.write(`${JSON.stringify({ open, elapsedMs: performance.now() - started, errors })}\n`);

const closeAll = () => {
  for (const socket of sockets) socket.destroy();
  process.exit(0);
};
process.stdin.on('end', closeAll);
process.stdin.on('close', closeAll);
process.stdin.resume();
process.on('SIGTERM', closeAll);
