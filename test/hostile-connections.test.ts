import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  eventually,
  finalCodes,
  hostileSink,
  liveHandles,
  noConnectionsLeft,
  rawSocket,
  readUntilClosed,
  sendOne,
} from './support/hostile-wire.js';
import { WireClient } from './support/smtp-wire.js';
import { within } from './support/within.js';

// Clients that misbehave at the connection level: they open and walk away, hang up mid-command or
// mid-message, reset, crawl one byte at a time, never read, or come in floods. None of it may slow
// a normal client down unduly, leak a connection, count a message, or hold up close().

const transaction = 'EHLO client.test\r\nMAIL FROM:<sender@client.test>\r\nRCPT TO:<rcpt@sink.test>\r\n';

/** Resolves once the socket received the start of the greeting. */
function greeted(socket: Socket): Promise<void> {
  return within(new Promise<void>((resolve) => socket.once('data', () => resolve())), 5000, 'the greeting');
}

describe('half-open and abandoned connections', () => {
  it('forgets hundreds of abandoned connections, serves a normal client, and closes at once', async () => {
    const { sink } = await hostileSink();
    const before = liveHandles();
    const silent: Array<Promise<string>> = [];
    await Promise.all(
      Array.from({ length: 400 }, async (_, i) => {
        const socket = await rawSocket(sink.port);
        switch (i % 4) {
          case 0: // connects and never sends a byte
            silent.push(readUntilClosed(socket));
            return;
          case 1: // half a command, then FIN
            await greeted(socket);
            socket.end('MAIL FR');
            return;
          case 2: // half a command, then RST: no FIN ever comes
            await greeted(socket);
            socket.write('EHLO clie');
            socket.resetAndDestroy();
            return;
          default: // mid-transaction, then vanishes without a word
            await greeted(socket);
            socket.write(`${transaction}DATA\r\n`);
            socket.destroy();
        }
      }),
    );
    await eventually(() => sink.stats().activeConnections === 100, 'only the 100 silent connections being left');
    expect(await sendOne(sink)).toMatch(/^250 /);
    expect(sink.stats().connections).toBe(401);

    await within(sink.close(), 5000, 'sink.close() with 100 silent connections');
    const farewells = await Promise.all(silent);
    // Each silent client was told why before the sink hung up.
    for (const text of farewells) expect(finalCodes(text.split('\r\n'))).toEqual(['220', '421 4.3.2']);
    expect(sink.stats().activeConnections).toBe(0);
    expect(sink.accepted).toBe(1);
    await eventually(
      () => liveHandles().TCPSocketWrap <= before.TCPSocketWrap && liveHandles().TCPServerWrap < before.TCPServerWrap,
      'every socket and the listening server going away',
    );
  });
});

describe('clients that half-close', () => {
  // A client may pipeline everything, QUIT included, and send its FIN at once (RFC 2920 allows the
  // pipelining; a FIN only says it has nothing more to send). It is still owed every reply.
  it.each([
    ['no delay', {}],
    ['a delayed final reply', { delay: 30 }],
    ['a delayed MAIL reply', { delay: { mail: 30 } }],
    [
      'a delay fault on the final reply',
      { faults: [{ stage: 'message' as const, action: { type: 'delay' as const, ms: 30 } }] },
    ],
  ])('answers every command sent before the FIN, with %s', async (_, options) => {
    const { sink } = await hostileSink({ ...options, maxMessageSize: 1000 });
    const sessions = await Promise.all(
      [
        `${transaction}BDAT 5 LAST\r\nhello`,
        `${transaction}DATA\r\nhello\r\n.\r\n`,
        `${transaction}BDAT 2000 LAST\r\n${'x'.repeat(2000)}`,
      ].map(async (commands) => {
        const socket = await rawSocket(sink.port);
        const text = readUntilClosed(socket);
        socket.end(`${commands}QUIT\r\n`);
        return finalCodes((await text).split('\r\n')).slice(4);
      }),
    );
    expect(sessions).toEqual([
      ['250 2.0.0', '221 2.0.0'],
      ['354', '250 2.0.0', '221 2.0.0'],
      ['552 5.3.4', '221 2.0.0'],
    ]);
    expect(sink.accepted).toBe(2);
  });

  it('closes at once a connection half-closed in the middle of a STARTTLS handshake', async () => {
    const { sink } = await hostileSink({ tls: 'starttls' });
    const socket = await rawSocket(sink.port);
    const text = readUntilClosed(socket, 5000);
    socket.write('EHLO client.test\r\nSTARTTLS\r\n');
    await eventually(() => sink.stats().connections === 1, 'the connection');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.end();
    expect(finalCodes((await text).split('\r\n'))).toEqual(['220', '250', '220 2.0.0']);
    await noConnectionsLeft(sink, 5000);
  });
});

describe('slow clients', () => {
  it('serves a normal client while others send one byte per tick, and delivers theirs too', async () => {
    const { sink } = await hostileSink();
    let normalDone = false;
    const dribble = async (socket: Socket, text: string): Promise<void> => {
      for (const byte of text) {
        socket.write(byte);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const slow = Array.from({ length: 6 }, async () => {
      const socket = await rawSocket(sink.port);
      const text = readUntilClosed(socket, 60_000);
      await dribble(socket, `${transaction}DATA\r\nSubject: slow\r\n\r\n.leading dot\r\nbare\rCR\r\n`);
      // The message keeps growing, a byte a tick, for as long as the normal client is sending.
      for (let n = 1; !normalDone; n++) await dribble(socket, n % 72 === 0 ? '\r\n' : 'x');
      await dribble(socket, '\r\n.\r\nQUIT\r\n');
      return text;
    });
    // The normal client's messages must not wait for the slow ones: a generous bound, not a timing.
    for (let i = 0; i < 10; i++)
      expect(await within(sendOne(sink, `normal ${i}`), 10_000, `normal message ${i}`)).toMatch(/^250 /);
    normalDone = true;
    for (const text of await Promise.all(slow))
      expect(finalCodes(text.split('\r\n')).slice(-2)).toEqual(['250 2.0.0', '221 2.0.0']);
    expect(sink.accepted).toBe(16);
    expect(sink.deliveries({ from: 'sender@client.test' })).toHaveLength(6);
  });

  it('stops reading from a client that never reads its replies, and keeps serving others', async () => {
    const { sink } = await hostileSink();
    const socket = await rawSocket(sink.port);
    socket.pause();
    const flood = Buffer.from('NOOP\r\n'.repeat(1024 * 1024));
    // 6 MiB of pipelined commands, 16 MiB of replies nobody reads.
    socket.write(flood);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await sendOne(sink)).toMatch(/^250 /);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Reading stopped once unread replies piled up: most of the flood is still waiting in the kernel.
    expect(sink.stats().receivedBytes).toBeLessThan(flood.length / 2);
    await within(sink.close(), 5000, 'sink.close() with a client that never reads');
    expect(sink.stats().activeConnections).toBe(0);
  });
});

describe('connection floods', () => {
  it('turns connections past maxConnections away with 421 4.7.0, counts them, and keeps serving', async () => {
    // Every client here comes from 127.0.0.1: the per-address share would turn the 10th away first.
    const { sink } = await hostileSink({ maxConnections: 10, maxConnectionsPerAddress: 0 });
    const holders = await Promise.all(Array.from({ length: 10 }, () => WireClient.open(sink.port)));
    for (const h of holders) await h.expect(220);
    const flood = await Promise.all(
      Array.from({ length: 150 }, async () => readUntilClosed(await rawSocket(sink.port))),
    );
    for (const text of flood) {
      expect(text).toBe('421 4.7.0 Too many connections: the limit is 10 (option maxConnections)\r\n');
    }
    expect(sink.stats().refusedConnections).toBe(150);
    // The held sessions were not disturbed by the flood.
    for (const h of holders) expect((await h.command('NOOP')).last).toBe('250 2.0.0 OK');
    for (const h of holders) h.write('QUIT\r\n');
    await Promise.all(holders.map((h) => h.waitClosed()));
    await noConnectionsLeft(sink);
    expect(await sendOne(sink)).toMatch(/^250 /);
  });

  it('closes refused connections whose clients never read', async () => {
    const { sink } = await hostileSink({ maxConnections: 2 });
    const holders = await Promise.all(Array.from({ length: 2 }, () => WireClient.open(sink.port)));
    for (const h of holders) await h.expect(220);
    const before = liveHandles().TCPSocketWrap;
    const refused = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const socket = await rawSocket(sink.port);
        socket.pause();
        return socket;
      }),
    );
    expect(refused).toHaveLength(30);
    // Only the client ends stay: the sink destroyed its side although the clients never read or closed.
    await eventually(() => liveHandles().TCPSocketWrap === before + 30, 'the sink destroying the refused connections');
    expect(sink.stats().refusedConnections).toBe(30);
    for (const h of holders) h.destroy();
  });
});

describe('clients that vanish mid-message', () => {
  it('never counts a message whose client vanished in DATA or in BDAT', async () => {
    const { sink } = await hostileSink({ capture: 'full' });
    const body = Buffer.alloc(64 * 1024, 'z');
    const ways: Array<(s: Socket) => void> = [
      (s) => s.end(Buffer.concat([Buffer.from(`${transaction}DATA\r\n`), body])),
      (s) => {
        s.write(Buffer.concat([Buffer.from(`${transaction}DATA\r\n`), body, Buffer.from('\r\n.')]));
        s.resetAndDestroy();
      },
      (s) => s.end(Buffer.concat([Buffer.from(`${transaction}BDAT 100000 LAST\r\n`), body])),
      (s) => {
        s.write(
          Buffer.concat([
            Buffer.from(`${transaction}BDAT ${body.length}\r\n`),
            body,
            Buffer.from('BDAT 10 LAST\r\nabc'),
          ]),
        );
        s.resetAndDestroy();
      },
      (s) => s.end(Buffer.concat([Buffer.from(`${transaction}BDAT ${body.length}\r\n`), body])),
    ];
    const clients = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const socket = await rawSocket(sink.port);
        const closed = new Promise((resolve) => socket.once('close', resolve));
        await greeted(socket);
        (ways[i % ways.length] as (s: Socket) => void)(socket);
        return closed;
      }),
    );
    expect(clients).toHaveLength(40);
    await noConnectionsLeft(sink);
    expect(sink.stats()).toMatchObject({ transactions: 40, accepted: 0, rejected: 0, capturedMessages: 0 });
  });

  it('gives back the capture budget of abandoned messages', async () => {
    const { sink } = await hostileSink({ capture: 'full', maxCaptureBytes: 1024 * 1024 });
    const part = Buffer.alloc(900 * 1024, 'q');
    for (let i = 0; i < 8; i++) {
      const socket = await rawSocket(sink.port);
      const closed = new Promise((resolve) => socket.once('close', resolve));
      await greeted(socket);
      socket.end(Buffer.concat([Buffer.from(`${transaction}DATA\r\n`), part]));
      await closed;
    }
    await noConnectionsLeft(sink);
    // Had any abandoned message kept its reservation, this one would not fit in the budget.
    expect(await sendOne(sink, 'k'.repeat(900 * 1024))).toMatch(/^250 /);
    expect(sink.stats()).toMatchObject({ accepted: 1, capturedMessages: 1, uncapturedMessages: 0 });
  });
});
