import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnServe, stopServers } from '../packages/core/test/control-serve.js';
import { hostileSink, noConnectionsLeft, rawSocket, readUntilClosed } from './support/hostile-wire.js';

afterEach(() => stopServers());

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes `text` one octet every `every` ms until it is out or the socket closed. */
async function trickle(socket: Socket, text: string, every: number): Promise<void> {
  for (const octet of text) {
    if (socket.destroyed || !socket.writable) return;
    socket.write(octet);
    await tick(every);
  }
}

/** A connection to the sink from a chosen loopback address (Linux routes all of 127/8 to lo). */
function openFrom(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

/** The text a socket receives until the sink closes it. */
function received(socket: Socket): Promise<string> {
  return readUntilClosed(socket, 20_000);
}

describe('per-record deadline', () => {
  it('defaults to the idle timeout', async () => {
    const { sink } = await hostileSink({ idleTimeout: 4321 });
    expect(sink.options.recordTimeout).toBe(4321);
  });

  it('ends a client that trickles a command line, though every octet comes within the idle timeout', async () => {
    // The idle timeout alone (every octet resets it) never ended such a client.
    const { sink } = await hostileSink({ idleTimeout: 400 });
    const socket = await rawSocket(sink.port);
    const text = received(socket);
    void trickle(socket, `EHLO ${'x'.repeat(200)}\r\n`, 50);
    expect(await text).toMatch(/^220 .*\r\n421 4\.4\.2 .*option recordTimeout\)\r\n$/s);
    await noConnectionsLeft(sink);
  });

  it('ends a client that trickles a line of message text', async () => {
    const { sink } = await hostileSink({ idleTimeout: 60_000, recordTimeout: 400 });
    const socket = await rawSocket(sink.port);
    const text = received(socket);
    socket.write('EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@sink.test>\r\nDATA\r\n');
    await tick(50);
    void trickle(socket, `Subject: ${'x'.repeat(200)}\r\n`, 50);
    const transcript = await text;
    expect(transcript).toMatch(/354 .*\r\n421 4\.4\.2 .*option recordTimeout\)\r\n$/s);
    expect(sink.accepted).toBe(0);
  });

  it('lets through lines that each arrive within the deadline, however many', async () => {
    const { sink } = await hostileSink({ idleTimeout: 60_000, recordTimeout: 1500 });
    const socket = await rawSocket(sink.port);
    const text = received(socket);
    // Each line takes ~5 x 20 ms: far within the deadline, and together far beyond it.
    for (let i = 0; i < 20; i++) await trickle(socket, 'NOOP\r\n', 20);
    socket.end('QUIT\r\n');
    const lines = (await text).split('\r\n').filter((l) => l !== '');
    expect(lines.filter((l) => l.startsWith('250 '))).toHaveLength(20);
    expect(lines.at(-1)).toMatch(/^221 /);
  });

  it('with recordTimeout 0, only the idle timeout applies', async () => {
    const { sink } = await hostileSink({ idleTimeout: 60_000, recordTimeout: 0 });
    const socket = await rawSocket(sink.port);
    const text = received(socket);
    await trickle(socket, `NOOP ${'x'.repeat(20)}\r\n`, 40);
    socket.end('QUIT\r\n');
    expect(await text).toMatch(/250 .*\r\n221 /s);
  });

  it('does not count the sink’s own delay against the client', async () => {
    const { sink } = await hostileSink({ idleTimeout: 60_000, recordTimeout: 300, delay: { mail: 800 } });
    const socket = await rawSocket(sink.port);
    const text = received(socket);
    // The rest of the line waits in the sink while MAIL's reply is delayed past the deadline.
    socket.write('EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nNO');
    await tick(100);
    socket.write('OP\r\n');
    await tick(1000);
    socket.end('QUIT\r\n');
    expect(await text).toMatch(/250 2\.1\.0 .*\r\n250 2\.0\.0 .*\r\n221 /s);
  });
});

describe('session lifetime cap', () => {
  it('ends a busy session at maxSessionTime with 421 4.4.2 naming the option', async () => {
    const { sink } = await hostileSink({ maxSessionTime: 500 });
    const socket = await rawSocket(sink.port);
    const text = received(socket);
    const busy = (async () => {
      while (!socket.destroyed && socket.writable) {
        socket.write('NOOP\r\n');
        await tick(50);
      }
    })();
    expect(await text).toMatch(
      /421 4\.4\.2 Session open for 0\.5 s: closing the connection \(option maxSessionTime\)\r\n$/,
    );
    await busy;
    await noConnectionsLeft(sink);
  });

  it('is off by default', async () => {
    const { sink } = await hostileSink();
    expect(sink.options.maxSessionTime).toBe(0);
  });
});

describe('per-address connection limit', () => {
  it('defaults to nine tenths of maxConnections, so one address leaves the others a share', async () => {
    expect((await hostileSink()).sink.options.maxConnectionsPerAddress).toBe(900);
    expect((await hostileSink({ maxConnections: 10 })).sink.options.maxConnectionsPerAddress).toBe(9);
    expect((await hostileSink({ maxConnections: 2 })).sink.options.maxConnectionsPerAddress).toBe(2);
  });

  it('by default, an address that fills its share leaves room for another', async () => {
    const { sink } = await hostileSink({ maxConnections: 10 });
    const mine = await Promise.all(Array.from({ length: 9 }, () => openFrom(sink.port, '127.0.0.2')));
    const turnedAway = await openFrom(sink.port, '127.0.0.2');
    expect(await received(turnedAway)).toMatch(/^421 4\.7\.0 .*option maxConnectionsPerAddress/);
    const other = await openFrom(sink.port, '127.0.0.3');
    const otherText = received(other);
    other.end('QUIT\r\n');
    expect(await otherText).toMatch(/^220 .*\r\n221 /s);
    for (const socket of mine) socket.destroy();
  });

  it('turns away the connection past maxConnectionsPerAddress from one address, not from another', async () => {
    const { sink } = await hostileSink({ maxConnectionsPerAddress: 2 });
    const first = await openFrom(sink.port, '127.0.0.2');
    const second = await openFrom(sink.port, '127.0.0.2');
    const third = await openFrom(sink.port, '127.0.0.2');
    expect(await received(third)).toMatch(
      /^421 4\.7\.0 Too many connections from your address: the limit is 2 \(option maxConnectionsPerAddress\)\r\n$/,
    );
    // Another address is served as usual.
    const other = await openFrom(sink.port, '127.0.0.3');
    const otherText = received(other);
    other.end('QUIT\r\n');
    expect(await otherText).toMatch(/^220 .*\r\n221 /s);
    expect(sink.stats().refusedConnections).toBe(1);
    // A slot freed is a slot again.
    first.destroy();
    await new Promise((resolve) => sink.on('disconnect', resolve));
    const again = await openFrom(sink.port, '127.0.0.2');
    const againText = received(again);
    again.end('QUIT\r\n');
    expect(await againText).toMatch(/^220 .*\r\n221 /s);
    second.destroy();
  });
});

describe('mailhole serve flags', () => {
  it('--record-timeout, --max-session-time and --max-connections-per-address reach the sink', async () => {
    const server = await spawnServe([
      '--port',
      '0',
      '--api-port',
      '0',
      '--record-timeout',
      '3s',
      '--max-session-time',
      '1m',
      '--max-connections-per-address',
      '7',
      '--max-invalid-commands',
      '9',
      '--max-rejected-recipients',
      '11',
    ]);
    const info = (await (await fetch(`${server.api}/api/info`)).json()) as { options: Record<string, number> };
    expect(info.options).toMatchObject({
      recordTimeout: 3000,
      maxSessionTime: 60_000,
      maxConnectionsPerAddress: 7,
      maxInvalidCommands: 9,
      maxRejectedRecipients: 11,
    });
  });
});
