import { createServer } from 'node:net';
import { connect as connectTls } from 'node:tls';

/**
 * The first flight of a real TLS client (its ClientHello record), captured from Node's own TLS
 * client talking to a plain TCP server: garbage built from it looks like TLS for a few bytes.
 */
export async function clientHello(): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      server.once('connection', (socket) => {
        socket.once('data', (chunk: Buffer) => {
          resolve(Buffer.from(chunk));
          socket.destroy();
        });
      });
      const client = connectTls({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false });
      client.on('error', () => {});
      client.once('close', () => reject(new Error('the TLS client closed before sending its ClientHello')));
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * Byte sequences that are not a TLS handshake, each named: what a confused or hostile client
 * sends where the sink expects a ClientHello.
 */
export function handshakeGarbage(hello: Buffer, random: (n: number) => Buffer): Array<[string, Buffer]> {
  const record = (type: number, length: number, body: Buffer): Buffer =>
    Buffer.concat([Buffer.from([type, 0x03, 0x03, length >> 8, length & 0xff]), body]);
  return [
    ['random bytes', random(4096)],
    ['one random byte', random(1)],
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')],
    ['SMTP commands', Buffer.from('EHLO client.test\r\nMAIL FROM:<a@b.c>\r\n')],
    ['a truncated ClientHello', hello.subarray(0, Math.floor(hello.length / 2))],
    ['a ClientHello with a corrupted body', Buffer.concat([hello.subarray(0, 9), random(hello.length - 9)])],
    ['a ClientHello followed by garbage records', Buffer.concat([hello, record(0x17, 64, random(64)), random(512)])],
    ['a ClientHello sent twice', Buffer.concat([hello, hello])],
    ['a record header announcing 16 MB', record(0x16, 0xffff, random(1000))],
    ['an alert record', record(0x15, 2, Buffer.from([2, 40]))],
    ['an SSLv2-style header', Buffer.from([0x80, 0x2e, 0x01, 0x00, 0x02, ...random(44)])],
    ['NUL bytes', Buffer.alloc(2048)],
  ];
}
