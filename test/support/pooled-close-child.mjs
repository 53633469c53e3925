// Run by clients-nodemailer.test.ts in a fresh process: a pooled nodemailer transport sends, the
// sink closes while the pool's connections sit idle, and this process must then exit by itself.
// Nothing here closes the transport or clears a timer: a handle the sink left behind keeps the
// process alive and the test's timeout catches it.
import { connect } from 'node:net';
import { startSink } from '@mailhole/core';
import nodemailer from 'nodemailer';

const sink = await startSink();
const sockets = [];
const transport = nodemailer.createTransport({
  host: sink.host,
  port: sink.port,
  pool: true,
  maxConnections: 3,
  getSocket: (options, callback) => {
    const socket = connect({ host: options.host, port: options.port });
    sockets.push(new Promise((resolve) => socket.once('close', resolve)));
    socket.once('connect', () => callback(null, { connection: socket }));
    socket.once('error', (error) => callback(error));
  },
});
await Promise.all(
  Array.from({ length: 9 }, (_, i) =>
    transport.sendMail({ from: 'a@example.test', to: 'b@example.test', text: `${i}` }),
  ),
);
const open = sink.stats().activeConnections;
await sink.close();
await Promise.all(sockets);
process.stdout.write(`${JSON.stringify({ accepted: sink.accepted, open, closed: sockets.length })}\n`);
