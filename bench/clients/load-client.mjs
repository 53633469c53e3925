#!/usr/bin/env node
// A raw-socket SMTP load client for what smtp-source cannot do: PIPELINING (RFC 2920) and BDAT (RFC 3030).
//
//   node bench/clients/load-client.mjs --port 2525 [--mode pipelining|bdat] [--connections 20]
//        [--messages 20000] [--size 1000] [--recipients 1] [--chunk 0]
//
// pipelining: after EHLO each connection sends MAIL, RCPT(s) and DATA in one write, then the message,
//   the end-of-data dot and the next MAIL/RCPT/DATA group in one write: one round trip per message.
// bdat: MAIL, RCPT(s) and the message as BDAT chunks (one `BDAT n LAST` unless --chunk sets a chunk
//   size) in one write: one round trip per message, and no dot-stuffing for the server to undo.
// Prints one JSON line: { mode, messages, connections, elapsedMs, errors }. Exits 1 on any error.
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    mode: { type: 'string', default: 'pipelining' },
    connections: { type: 'string', default: '20' },
    messages: { type: 'string', default: '20000' },
    size: { type: 'string', default: '1000' },
    recipients: { type: 'string', default: '1' },
    chunk: { type: 'string', default: '0' },
  },
});
if (values.port === undefined) {
  console.error('load-client: --port is required');
  process.exit(2);
}
const mode = values.mode;
if (mode !== 'pipelining' && mode !== 'bdat') {
  console.error(`load-client: --mode must be pipelining or bdat, got ${mode}`);
  process.exit(2);
}
const port = Number(values.port);
const connections = Number(values.connections);
const total = Number(values.messages);
const recipients = Number(values.recipients);
const chunkSize = Number(values.chunk);

/** A message of about `size` octets: a few headers and 76-character lines, CRLF line ends, no leading dots. */
function makeMessage(size) {
  const head =
    'From: <load@client.test>\r\nTo: <sink@sink.test>\r\nSubject: load\r\nMessage-ID: <load@client.test>\r\n\r\n';
  let text = head;
  const line = `${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3).slice(0, 76)}\r\n`;
  while (text.length + line.length <= size) text += line;
  if (text.length < size - 2) text += `${'x'.repeat(size - 2 - text.length)}\r\n`;
  return Buffer.from(text, 'latin1');
}

const message = makeMessage(Number(values.size));
let envelopeText = 'MAIL FROM:<load@client.test>\r\n';
for (let i = 0; i < recipients; i++) envelopeText += `RCPT TO:<sink${i}@sink.test>\r\n`;
const envelope = Buffer.from(envelopeText, 'latin1');
const dataGroup = Buffer.concat([envelope, Buffer.from('DATA\r\n')]);
const endOfData = Buffer.concat([message, Buffer.from('.\r\n')]);
const quit = Buffer.from('QUIT\r\n');

function bdatGroup() {
  const parts = [envelope];
  const size = chunkSize > 0 ? chunkSize : message.length;
  for (let from = 0; from < message.length; from += size) {
    const to = Math.min(message.length, from + size);
    parts.push(Buffer.from(`BDAT ${to - from}${to === message.length ? ' LAST' : ''}\r\n`), message.subarray(from, to));
  }
  return Buffer.concat(parts);
}
const bdat = mode === 'bdat' ? bdatGroup() : undefined;
const bdatReplies =
  mode === 'bdat' ? 1 + recipients + Math.ceil(message.length / (chunkSize > 0 ? chunkSize : message.length)) : 0;

let remaining = total;
let completed = 0;
const errors = [];
const started = performance.now();

/** Takes the next message to send, if any are left. */
function take() {
  if (remaining === 0) return false;
  remaining--;
  return true;
}

function session() {
  return new Promise((resolve) => {
    const socket = connect({ host: values.host, port, noDelay: true });
    let pending = '';
    let expect = 1; // the greeting
    let stage = 'greeting';
    let lastReplyLines = [];
    let inFlight = false; // a message whose final reply we wait for

    const fail = (why) => {
      if (errors.length < 10) errors.push(why);
      socket.destroy();
    };

    const next = () => {
      switch (stage) {
        case 'greeting':
          stage = 'ehlo';
          expect = 1;
          socket.write('EHLO load.client.test\r\n');
          return;
        case 'ehlo': {
          const keyword = mode === 'bdat' ? 'CHUNKING' : 'PIPELINING';
          if (!lastReplyLines.some((l) => l.slice(4).toUpperCase().startsWith(keyword))) {
            return fail(`the server does not advertise ${keyword}`);
          }
          return sendNext(false);
        }
        case 'envelope':
          // 354 came: the message, its end, and the next group in one write.
          inFlight = true;
          if (take()) {
            stage = 'envelope';
            expect = recipients + 3;
            socket.write(Buffer.concat([endOfData, dataGroup]));
          } else {
            stage = 'quit';
            expect = 2;
            socket.write(Buffer.concat([endOfData, quit]));
          }
          return;
        case 'bdat':
          completed++;
          return sendNext(false);
        case 'quit':
          socket.end();
      }
    };

    const sendNext = () => {
      if (!take()) {
        stage = 'quit';
        expect = 1;
        socket.write(quit);
        return;
      }
      if (mode === 'bdat') {
        stage = 'bdat';
        expect = bdatReplies;
        socket.write(bdat);
      } else {
        stage = 'envelope';
        expect = recipients + 2;
        socket.write(dataGroup);
      }
    };

    const onReply = (code) => {
      if (code >= 400 || code < 200) return fail(`${stage}: the server replied ${lastReplyLines.join(' | ')}`);
      // In the pipelining group after a message, the first reply is the message's own.
      if (inFlight && stage !== 'bdat') {
        inFlight = false;
        completed++;
      }
      if (--expect === 0) next();
    };

    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      let start = 0;
      for (;;) {
        const lf = pending.indexOf('\n', start);
        if (lf < 0) break;
        const line = pending.slice(start, lf).replace(/\r$/, '');
        start = lf + 1;
        lastReplyLines.push(line);
        if (line.length === 3 || line[3] === ' ') {
          const code = Number(line.slice(0, 3));
          onReply(code);
          lastReplyLines = [];
          if (socket.destroyed) return;
        }
      }
      pending = pending.slice(start);
    });
    socket.on('error', (error) => {
      if (stage !== 'quit') fail(`${stage}: ${error.message}`);
    });
    socket.on('close', () => {
      if (stage !== 'quit' && errors.length === 0) errors.push(`${stage}: the server closed the connection`);
      resolve();
    });
  });
}

await Promise.all(Array.from({ length: Math.min(connections, total) }, () => session()));
const elapsedMs = performance.now() - started;
process.stdout.write(`${JSON.stringify({ mode, messages: completed, connections, elapsedMs, errors })}\n`);
process.exitCode = errors.length > 0 || completed !== total ? 1 : 0;
