import type { Socket } from 'node:net';
import nodemailer from 'nodemailer';
import { beforeAll, describe, expect, it } from 'vitest';
import { clientHello, handshakeGarbage } from './support/hostile-tls.js';
import {
  hostileSink,
  noConnectionsLeft,
  randomBytesFrom,
  rawSocket,
  readUntilClosed,
  seeded,
} from './support/hostile-wire.js';
import { TlsWire } from './support/tls-wire.js';
import { within } from './support/within.js';

// Garbage where a TLS handshake belongs, on the implicit-TLS port and after STARTTLS: each kind
// of garbage on its own connection, all at once. The sink must close each one, report no internal
// error, forget each connection, and keep serving clients that verify it.

let hello: Buffer;
beforeAll(async () => {
  hello = await clientHello();
});

const garbage = () =>
  handshakeGarbage(
    hello,
    (
      (next) => (n: number) =>
        randomBytesFrom(next, n)
    )(seeded(443)),
  );

/** Opens a socket on the implicit-TLS port, or one that has said EHLO and STARTTLS and got 220. */
async function handshakeStage(port: number, starttls: boolean): Promise<{ socket: Socket; text: Promise<string> }> {
  const socket = await rawSocket(port);
  const text = readUntilClosed(socket);
  if (starttls) {
    let seen = '';
    const ready = new Promise<void>((resolve) =>
      socket.on('data', (chunk: string) => {
        seen += chunk;
        if (/^220 2\.0\.0 /m.test(seen)) resolve();
      }),
    );
    socket.write('EHLO client.test\r\nSTARTTLS\r\n');
    await within(ready, 5000, '220 Ready to start TLS');
  }
  return { socket, text };
}

async function deliversOverTls(
  sink: Awaited<ReturnType<typeof hostileSink>>['sink'],
  implicit: boolean,
): Promise<string> {
  const transport = nodemailer.createTransport({
    host: sink.host,
    port: implicit ? sink.tlsPort : sink.port,
    secure: implicit,
    requireTLS: !implicit,
    tls: sink.clientTls(),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
  });
  try {
    const info = await transport.sendMail({ from: 'a@client.test', to: 'b@sink.test', text: 'after the garbage' });
    return info.response;
  } finally {
    transport.close();
  }
}

describe.each([
  ['the implicit-TLS port', false],
  ['STARTTLS', true],
])('garbage instead of a TLS handshake on %s', (_, starttls) => {
  it('closes every such connection once the client stops sending, and delivers for a verifying client', async () => {
    const { sink } = await hostileSink({ tls: 'both' });
    const port = starttls ? sink.port : (sink.tlsPort as number);
    const cases = garbage();
    const closed = await Promise.all(
      cases.map(async ([name, bytes]) => {
        const { socket, text } = await handshakeStage(port, starttls);
        socket.end(bytes);
        await text.catch((error: Error) => {
          throw new Error(`${name}: ${error.message}`);
        });
        return name;
      }),
    );
    expect(closed).toHaveLength(cases.length);
    await noConnectionsLeft(sink);
    expect(sink.stats().connections).toBe(cases.length);
    expect(sink.stats().transactions).toBe(0);
    expect(await deliversOverTls(sink, !starttls)).toMatch(/^250 /);
    expect(sink.accepted).toBe(1);
  });

  it('drops garbage that never ends after idleTimeout', async () => {
    const { sink } = await hostileSink({ tls: 'both', idleTimeout: 500 });
    const port = starttls ? sink.port : (sink.tlsPort as number);
    const cases = garbage();
    await Promise.all(
      cases.map(async ([, bytes]) => {
        const { socket, text } = await handshakeStage(port, starttls);
        socket.write(bytes);
        await text;
      }),
    );
    await noConnectionsLeft(sink);
    expect(await deliversOverTls(sink, !starttls)).toMatch(/^250 /);
  });
});

describe.each([
  ['STARTTLS', false],
  ['implicit TLS', true],
])('garbage inside an established %s session', (_, implicit) => {
  it('closes a session whose TLS records are corrupted at once, and counts nothing from it', async () => {
    // Long idle timeout: the connection must end because of the bad record, not because it went quiet.
    const { sink } = await hostileSink({ tls: 'both', idleTimeout: 60_000 });
    let wire: TlsWire;
    if (implicit) {
      wire = await TlsWire.openTls(sink.tlsPort as number, { ca: sink.ca });
      await wire.reply();
    } else {
      wire = await TlsWire.open(sink.port);
      await wire.reply();
      await wire.command('EHLO client.test');
      await wire.command('STARTTLS');
      await wire.upgrade({ ca: sink.ca });
    }
    expect((await wire.command('EHLO client.test')).code).toBe(250);
    expect((await wire.command('MAIL FROM:<a@client.test>')).code).toBe(250);
    // Bytes written under the TLS layer: to the sink, a record that fails to decrypt.
    const tcp = (wire as unknown as { tcp: Socket }).tcp;
    tcp.write(Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x40]), randomBytesFrom(seeded(7), 64)]));
    await noConnectionsLeft(sink, 5000);
    wire.destroy();
    expect(sink.accepted).toBe(0);
    expect(await deliversOverTls(sink, implicit)).toMatch(/^250 /);
  });
});

describe('handshakes that never start', () => {
  it('lets close() end connections stuck before or during the handshake at once', async () => {
    const { sink } = await hostileSink({ tls: 'both' });
    for (let i = 0; i < 20; i++) {
      await handshakeStage(sink.tlsPort as number, false);
      const { socket } = await handshakeStage(sink.port, true);
      if (i % 2 === 0) socket.write(hello.subarray(0, 20));
    }
    await within(sink.close(), 5000, 'sink.close() with 40 connections stuck in TLS handshakes');
    expect(sink.stats().activeConnections).toBe(0);
  });
});
