import { connect, type Socket } from 'node:net';
import { type Sink, type StartOptions, startSink } from '@mailhole/core';
import nodemailer from 'nodemailer';
import { expect, onTestFinished } from 'vitest';
import { within } from './within.js';

// One seeded PRNG for test/ and bench/ (hostile-load.mjs runs under plain Node too, so it holds it).
export { seeded } from './hostile-load.mjs';

/** A sink for one hostile test, plus every internal error it reported (there must be none). */
export interface HostileSink {
  sink: Sink;
  /** Errors from the sink's `error` event: a session that threw, a listener that threw. */
  errors: unknown[];
}

/**
 * Starts a sink that is closed when the test ends, and fails the test if the sink reported an
 * internal error or did not close promptly: hostile input may be refused, never crash a session.
 */
export async function hostileSink(options: StartOptions = {}): Promise<HostileSink> {
  const sink = await startSink(options);
  const errors: unknown[] = [];
  sink.on('error', (error) => errors.push(error));
  onTestFinished(async () => {
    await within(sink.close(), 5000, 'sink.close()');
    expect(errors).toEqual([]);
  });
  return { sink, errors };
}

/** `n` random bytes from `next`. */
export function randomBytesFrom(next: () => number, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
  return out;
}

/** Opens a TCP connection to the sink; the socket is destroyed when the test (if any) ends. */
export function rawSocket(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host });
    socket.setNoDelay(true);
    try {
      onTestFinished(() => {
        socket.destroy();
      });
    } catch {
      // Opened from a hook (beforeAll), where no test owns it: `converse` ends such sockets itself.
    }
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      // A reset by the sink is an outcome the test reads from what it received, not an exception.
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

/** Everything a socket receives until the peer closes it, as latin1 text; fails after `ms`. */
export function readUntilClosed(socket: Socket, ms = 10_000): Promise<string> {
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
  return within(closed, ms, `the sink closing the connection (received so far: ${JSON.stringify(text.slice(-300))})`);
}

/**
 * Connects, writes `bytes` (in one write, or in the given pieces), then QUIT, and returns every
 * reply line the sink sent until it closed the connection.
 */
export async function converse(
  port: number,
  bytes: Buffer | string | Array<Buffer | string>,
  ms = 10_000,
): Promise<string[]> {
  const socket = await rawSocket(port);
  const text = readUntilClosed(socket, ms);
  for (const piece of Array.isArray(bytes) ? bytes : [bytes]) socket.write(piece);
  socket.write('QUIT\r\n');
  try {
    return replyLines(await text);
  } finally {
    socket.destroy();
  }
}

/** The reply lines of a transcript, CRLF removed. */
export function replyLines(text: string): string[] {
  const lines = text.split('\r\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** Lines that are not a well-formed SMTP reply line (`ddd ` or `ddd-` then text). */
export function malformedLines(lines: readonly string[]): string[] {
  return lines.filter((line) => !/^[2-5]\d\d[ -][^\r\n]*$/.test(line));
}

/** The code-and-enhanced-code prefix of each final reply line, e.g. `['220', '250', '500 5.5.2']`. */
export function finalCodes(lines: readonly string[]): string[] {
  return lines
    .filter((line) => /^\d{3} /.test(line))
    .map((line) => {
      const m = /^(\d{3}) (\d\.\d{1,3}\.\d{1,3})?/.exec(line);
      return m?.[2] ? `${m[1]} ${m[2]}` : String(m?.[1]);
    });
}

/** Sends one message with nodemailer over a fresh connection and returns the sink's reply. */
export async function sendOne(sink: Sink, text = 'still working'): Promise<string> {
  const transport = nodemailer.createTransport({
    host: sink.host,
    port: sink.port,
    secure: false,
    ignoreTLS: true,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 10_000,
  });
  try {
    const info = await transport.sendMail({ from: 'probe@client.test', to: 'probe@sink.test', subject: 'probe', text });
    return info.response;
  } finally {
    transport.close();
  }
}

/** Resolves once the sink holds no open connection; fails after `ms` with how many are left. */
export async function noConnectionsLeft(sink: Sink, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (sink.stats().activeConnections > 0) {
    if (Date.now() > deadline) {
      throw new Error(`the sink still holds ${sink.stats().activeConnections} connections after ${ms} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves once `condition` holds, checking every 10 ms; fails after `ms` saying what was awaited. */
export async function eventually(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Counts of the handles that would keep a process alive: listening servers, sockets, timers. */
export function liveHandles(): Record<'TCPServerWrap' | 'TCPSocketWrap' | 'Timeout', number> {
  const counts = { TCPServerWrap: 0, TCPSocketWrap: 0, Timeout: 0 };
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind in counts) counts[kind as keyof typeof counts]++;
  }
  return counts;
}
