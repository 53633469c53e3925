import { describe, expect, it } from 'vitest';
import { sinkForTest } from './support/tls-clients.js';
import { TlsWire } from './support/tls-wire.js';

/**
 * requireAuth is a gate nothing opens but AUTH: not lenient mode (RCPT without MAIL), not LMTP,
 * not BDAT, whatever the transport. Every cell of the matrix tries to get a message counted
 * without AUTH, then proves the gate opens for a client that authenticates.
 */
type Transport = 'plain' | 'starttls' | 'implicit';
const cells: Array<{ lenient: boolean; lmtp: boolean; via: 'DATA' | 'BDAT'; transport: Transport }> = [];
for (const lenient of [false, true])
  for (const lmtp of [false, true])
    for (const via of ['DATA', 'BDAT'] as const)
      for (const transport of ['plain', 'starttls', 'implicit'] as const) {
        // The implicit-TLS listener speaks SMTP only: LMTP is served on the plain port (with STARTTLS).
        if (lmtp && transport === 'implicit') continue;
        cells.push({ lenient, lmtp, via, transport });
      }

const PLAIN_ALICE = Buffer.from('\0alice\0pw').toString('base64');
const MESSAGE = 'Subject: gate\r\n\r\nhi\r\n';

describe('requireAuth gate matrix', () => {
  it.each(cells)('lenient=$lenient lmtp=$lmtp $via over $transport: nothing passes before AUTH', async (cell) => {
    const sink = await sinkForTest({
      requireAuth: true,
      auth: { users: { alice: 'pw' } },
      lenient: cell.lenient,
      lmtp: cell.lmtp,
      tls: cell.transport === 'plain' ? 'none' : cell.transport === 'starttls' ? 'starttls' : 'implicit',
    });
    const tls = { ca: sink.ca };
    const wire =
      cell.transport === 'implicit'
        ? await TlsWire.openTls(sink.tlsPort as number, tls)
        : await TlsWire.open(sink.port);
    try {
      expect((await wire.reply()).code).toBe(220);
      const hello = cell.lmtp ? 'LHLO client.test' : 'EHLO client.test';
      if (cell.transport === 'starttls') {
        expect((await wire.command(hello)).code).toBe(250);
        expect((await wire.command('STARTTLS')).code).toBe(220);
        await wire.upgrade(tls);
      }
      expect((await wire.command(hello)).code).toBe(250);

      // Strict or lenient, every step of a transaction is refused with 530 5.7.0 before AUTH.
      expect((await wire.command('MAIL FROM:<a@client.test>')).last).toMatch(/^530 5\.7\.0/);
      expect((await wire.command('RCPT TO:<b@sink.test>')).last).toMatch(/^530 5\.7\.0/);
      if (cell.via === 'DATA') {
        const data = await wire.command('DATA');
        expect(data.last).toMatch(/^530 5\.7\.0/);
        // Were DATA wrongly accepted, this text would become a message; refused, its lines are commands.
      } else {
        wire.write(`BDAT ${MESSAGE.length} LAST\r\n${MESSAGE}`);
        expect((await wire.reply()).last).toMatch(/^530 5\.7\.0/);
      }
      expect((await wire.command('NOOP')).code).toBe(250);
      expect(sink.accepted).toBe(0);
      expect(sink.stats().transactions).toBe(0);
      expect(sink.stats().recipientsAccepted).toBe(0);

      // The same client, authenticated, gets its message through the same way.
      expect((await wire.command(`AUTH PLAIN ${PLAIN_ALICE}`)).code).toBe(235);
      expect((await wire.command('MAIL FROM:<a@client.test>')).code).toBe(250);
      expect((await wire.command('RCPT TO:<b@sink.test>')).code).toBe(250);
      if (cell.via === 'DATA') {
        expect((await wire.command('DATA')).code).toBe(354);
        wire.write(`${MESSAGE}.\r\n`);
      } else {
        wire.write(`BDAT ${MESSAGE.length} LAST\r\n${MESSAGE}`);
      }
      expect((await wire.reply()).code).toBe(250);
      await sink.waitFor(1);
      expect(sink.deliveries()[0]?.user).toBe('alice');
    } finally {
      wire.destroy();
    }
  });
});
