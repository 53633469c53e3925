// Load with exact client-side bookkeeping, shared by accounting-*.test.ts and bench/soak.mjs.
// Every client counts the final replies it actually read; a test then compares those counts (and
// the delivery ids quoted in the 250 replies) with what the sink says it accepted.
//
// Semantics the bookkeeping follows (DESIGN.md: an accepted delivery is a message whose final
// reply was 2xx): a client that abandons a transaction does so strictly before its end of data is
// complete, so the sink can never have answered it. A client that hangs up right after sending
// the end of data, before reading the reply, is recorded apart (`hungUp`): whether the sink got to
// send its 250 first is a race no server can see the end of, as with any MTA (RFC 5321 §4.1.1.4
// leaves such a message possibly delivered, the client retries), so those are reconciled by id.
import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import nodemailer from 'nodemailer';

/**
 * Small deterministic PRNG (mulberry32): every random choice of a test or soak is replayable from its seed.
 * Same sequence as `seededRandom` in packages/core/src/behaviour/random.ts, which plain Node cannot import.
 */
export function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * What the clients saw, summed over all of them.
 * @returns {{ attempted: number, seen2xx: number, ids: Set<string>, refused: number, aborted: number,
 *   lost: number, hungUp: Set<string>, bytes: number, sessions: number, errors: string[],
 *   outcomes: Map<string, string> }}
 */
export function newTally() {
  return {
    /** Messages clients set out to send. */
    attempted: 0,
    /** Final replies (to DATA or BDAT LAST) that were 2xx, as read by the clients. */
    seen2xx: 0,
    /** Delivery ids quoted in those 2xx replies. */
    ids: new Set(),
    /** Final replies that were 4xx or 5xx, and transactions refused before the message. */
    refused: 0,
    /** Transactions the client abandoned before its end of data was complete. */
    aborted: 0,
    /** Transactions whose connection ended before their final reply (a fault, a closing sink). */
    lost: 0,
    /** Senders of messages whose client hung up right after its end of data. */
    hungUp: new Set(),
    /** Octets written by raw clients. */
    bytes: 0,
    /** Connections opened by raw clients. */
    sessions: 0,
    /** Unexpected client-side failures (a reply that makes no sense here). */
    errors: [],
    /** What became of each message, by sender: for the message of a failed assertion. */
    outcomes: new Map(),
  };
}

const LINES = [
  'Subject: load\r\n',
  'X-Load: 1\r\n',
  '\r\n',
  'The quick brown fox jumps over the lazy dog.\r\n',
  '.a line that starts with a dot\r\n',
  '..two dots\r\n',
  '.\r\n',
  'bare\nLF and bare\rCR inside\r\n',
  `${'z'.repeat(400)}\r\n`,
];

/** A message of `lines` lines picked by `rng`, as octets and dot-stuffed for DATA. */
export function message(rng, lines) {
  let raw = 'Subject: load\r\n\r\n';
  for (let i = 0; i < lines; i++) raw += LINES[Math.floor(rng() * LINES.length)];
  const stuffed = raw.replace(/(^|\r\n)\./g, '$1..');
  return { raw, stuffed };
}

const acceptedId = (text) => /accepted as (\S+)/.exec(text)?.[1];

/** A raw SMTP connection that reads whole replies; `next()` is the next reply, or null once closed. */
class Wire {
  constructor(socket, tcp) {
    this.socket = socket;
    this.tcp = tcp;
    this.text = '';
    this.replies = [];
    this.waiter = undefined;
    this.closed = false;
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      this.text += chunk;
      let eol = this.text.indexOf('\r\n');
      while (eol >= 0) {
        const line = this.text.slice(0, eol);
        this.text = this.text.slice(eol + 2);
        if (!/^\d{3}-/.test(line)) this.replies.push({ code: Number(line.slice(0, 3)), line });
        eol = this.text.indexOf('\r\n');
      }
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    // A sink that stops answering must fail the run, not hang it.
    socket.setTimeout(30_000, () => socket.destroy());
  }

  wake() {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  async next() {
    while (this.replies.length === 0) {
      if (this.closed) return null;
      await new Promise((resolve) => (this.waiter = resolve));
    }
    return this.replies.shift();
  }

  write(text, tally) {
    tally.bytes += Buffer.byteLength(text, 'latin1');
    this.socket.write(text, 'latin1');
  }

  /** Hangs up at once: a FIN-less reset half the time. */
  kill(rng) {
    if (rng() < 0.5) this.tcp.resetAndDestroy();
    this.socket.destroy();
  }
}

function open(port, host, implicitTls, ca) {
  return new Promise((resolve, reject) => {
    const tcp = connect({ port, host });
    // Under TLS the client keeps its TCP socket: a reset must go to it (a TLSSocket cannot send one).
    const socket = implicitTls ? connectTls({ socket: tcp, ca, servername: 'localhost' }) : tcp;
    socket.once('error', reject);
    tcp.once('error', reject);
    socket.once(implicitTls ? 'secureConnect' : 'connect', () => {
      socket.removeListener('error', reject);
      tcp.removeListener('error', reject);
      tcp.on('error', () => {});
      resolve(new Wire(socket, tcp));
    });
  });
}

/**
 * A raw client: `messages` messages over as few connections as its choices allow, pipelined,
 * over DATA or BDAT, abandoning some transactions part-way (`abort`: probability per message)
 * and hanging up right after the end of data on others (`hangUp`). Stops early when `stop()`.
 */
export async function rawClient(target, { id, messages, rng, tally, abort = 0, hangUp = 0, stop = () => false }) {
  let wire = null;
  /** Reads `n` replies and returns the last, or null when the connection ended first. */
  const replies = async (n) => {
    let last = null;
    for (let k = 0; k < n; k++) {
      last = await wire.next();
      if (last === null) return null;
    }
    return last;
  };
  let sender = '';
  const note = (what) => tally.outcomes.set(sender, what);
  const drop = (how) => {
    wire = null;
    tally[how]++;
    note(how);
  };
  for (let i = 0; i < messages && !stop(); i++) {
    if (wire === null || wire.closed) {
      try {
        wire = await open(target.port, target.host, target.implicitTls === true, target.ca);
      } catch (error) {
        if (!stop()) tally.errors.push(`client ${id}: cannot connect: ${error.message}`);
        return;
      }
      tally.sessions++;
      if ((await wire.next())?.code !== 220) {
        wire = null;
        continue;
      }
      wire.write('EHLO load.test\r\n', tally);
      if ((await wire.next())?.code !== 250) {
        wire = null;
        continue;
      }
    }
    tally.attempted++;
    sender = `c${id}m${i}@load.test`;
    const { raw, stuffed } = message(rng, 1 + Math.floor(rng() * 12));
    const envelope = `MAIL FROM:<${sender}>\r\nRCPT TO:<rcpt${i % 7}@sink.test>\r\n`;
    const aborting = rng() < abort;
    const hangingUp = !aborting && rng() < hangUp;
    // Any proper prefix of a transaction lacks the last octet of its end of data: never answered.
    const abandon = (text) => {
      wire.write(text.slice(0, Math.floor(rng() * text.length)), tally);
      wire.kill(rng);
      drop('aborted');
    };

    let final;
    if (rng() < 0.5) {
      // DATA: the envelope and DATA pipelined (RFC 2920), the message after 354.
      const head = `${envelope}DATA\r\n`;
      const body = `${stuffed}.\r\n`;
      if (aborting && rng() < 0.3) {
        abandon(head);
        continue;
      }
      wire.write(head, tally);
      const data = await replies(3);
      if (data === null) {
        drop('lost');
        continue;
      }
      if (data.code !== 354) {
        tally.refused++;
        note(`refused before the message: ${data.line}`);
        if (data.code === 421) {
          wire = null;
          continue;
        }
        wire.write('RSET\r\n', tally);
        if ((await replies(1)) === null) wire = null;
        continue;
      }
      if (aborting) {
        abandon(body);
        continue;
      }
      wire.write(body, tally);
      if (hangingUp) {
        wire.kill(rng);
        wire = null;
        tally.hungUp.add(sender);
        note('hung up');
        continue;
      }
      final = await replies(1);
    } else {
      // BDAT: the whole transaction in one write, in one to three chunks (RFC 3030).
      const cuts = [Math.floor(rng() * raw.length), Math.floor(rng() * raw.length)].sort((a, b) => a - b);
      const parts = [raw.slice(0, cuts[0]), raw.slice(cuts[0], cuts[1]), raw.slice(cuts[1])].filter(
        (p, k) => p.length > 0 || k === 2,
      );
      const chunks = parts.map(
        (p, k) => `BDAT ${Buffer.byteLength(p, 'latin1')}${k === parts.length - 1 ? ' LAST' : ''}\r\n${p}`,
      );
      const all = envelope + chunks.join('');
      if (aborting) {
        abandon(all);
        continue;
      }
      wire.write(all, tally);
      if (hangingUp) {
        wire.kill(rng);
        wire = null;
        tally.hungUp.add(sender);
        note('hung up');
        continue;
      }
      // MAIL, RCPT, then one reply per chunk: the last one is the final reply to the message.
      final = await replies(2 + chunks.length);
    }
    if (final === null) {
      drop('lost');
      continue;
    }
    if (final.code >= 200 && final.code < 300) {
      tally.seen2xx++;
      const delivery = acceptedId(final.line);
      if (delivery === undefined) tally.errors.push(`client ${id}: a 2xx final reply without an id: ${final.line}`);
      else tally.ids.add(delivery);
      note(`accepted: ${final.line}`);
    } else {
      tally.refused++;
      note(`refused: ${final.line}`);
      if (final.code === 421) {
        wire = null;
        continue;
      }
      // A refused BDAT leaves the transaction open (RFC 3030): start the next one clean, as clients do.
      wire.write('RSET\r\n', tally);
      if ((await replies(1)) === null) wire = null;
    }
  }
  if (wire !== null && !wire.closed) {
    wire.write('QUIT\r\n', tally);
    await wire.next();
    wire.socket.destroy();
  }
}

/**
 * A nodemailer client sending `messages` messages one after another, pooled (connections reused,
 * RSET between messages) or one connection per message, over plain SMTP, STARTTLS or implicit TLS.
 */
export async function nodemailerClient(target, { id, messages, rng, tally, pool, tls = 'none', stop = () => false }) {
  const transport = nodemailer.createTransport({
    host: target.host,
    port: tls === 'implicit' ? target.tlsPort : target.port,
    secure: tls === 'implicit',
    requireTLS: tls === 'starttls',
    ignoreTLS: tls === 'none',
    tls: target.ca === undefined ? undefined : { ca: target.ca, servername: 'localhost' },
    pool,
    maxConnections: 1,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 30_000,
  });
  try {
    for (let i = 0; i < messages && !stop(); i++) {
      tally.attempted++;
      const sender = `n${id}m${i}@load.test`;
      const { raw } = message(rng, 1 + Math.floor(rng() * 8));
      try {
        const info = await transport.sendMail({ envelope: { from: sender, to: [`rcpt${i % 7}@sink.test`] }, raw });
        tally.seen2xx++;
        const delivery = acceptedId(info.response);
        if (delivery === undefined) tally.errors.push(`client n${id}: a 2xx reply without an id: ${info.response}`);
        else tally.ids.add(delivery);
        tally.outcomes.set(sender, `accepted: ${info.response}`);
      } catch (error) {
        if (error.responseCode >= 400) {
          tally.refused++;
          tally.outcomes.set(sender, `refused: ${error.response}`);
        } else {
          // Connection trouble before a final reply (a fault, or the sink closing under the load).
          tally.lost++;
          tally.outcomes.set(sender, `lost: ${error.message}`);
          if (stop()) return;
        }
      }
    }
  } finally {
    transport.close();
  }
}
