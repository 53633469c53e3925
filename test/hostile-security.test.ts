import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { get, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Sink, startSink } from '@mailhole/core';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { converse, finalCodes } from './support/hostile-wire.js';
import { within } from './support/within.js';

// The security defaults: the sink listens on loopback only, never sends anything anywhere (no
// relay, no DNS, no file), keeps credentials out of everything it records or prints, and its
// control API refuses other origins and, with a token, everyone without it.

// --- listening addresses ---------------------------------------------------------------------------

/** Local addresses (hex, as /proc/net/tcp{,6} writes them) of the sockets listening on `port`. */
async function listeningAddresses(port: number): Promise<string[]> {
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(table, 'utf8');
    } catch (error) {
      if (table.endsWith('6')) continue;
      throw new Error(`cannot read ${table} to check the listening address (Linux only): ${(error as Error).message}`);
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local === undefined || state !== '0A') continue;
      const [address, hexPort] = local.split(':');
      if (Number.parseInt(hexPort as string, 16) === port) found.push(address as string);
    }
  }
  return found;
}

/** 127.0.0.1 as /proc/net/tcp writes it (little-endian hex). */
const LOOPBACK_HEX = '0100007F';

function refused(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

describe('listening addresses', () => {
  it('binds SMTP, implicit TLS and the control API to 127.0.0.1 only, by default', async () => {
    const sink = await startSink({ tls: 'both', api: true });
    onTestFinished(() => sink.close());
    expect(sink.host).toBe('127.0.0.1');
    const apiPort = Number(new URL(sink.apiUrl as string).port);
    for (const port of [sink.port, sink.tlsPort as number, apiPort]) {
      expect(await listeningAddresses(port)).toEqual([LOOPBACK_HEX]);
    }
    // From another address of this machine, nothing answers.
    const outside = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i !== undefined && !i.internal && i.family === 'IPv4')
      .map((i) => i?.address as string);
    for (const address of outside) {
      for (const port of [sink.port, sink.tlsPort as number, apiPort])
        expect(await refused(address, port)).toBe('ECONNREFUSED');
    }
  });
});

// --- one sink in a watched child process ------------------------------------------------------------

const PASSWORD = 'Pa55-Very-Secret-w0rd';
const WRONG = 'Wr0ng-But-Still-Secret';
const TOKEN = 'ya29.Secret-Bearer-Token';
const b64 = (text: string): string => Buffer.from(text).toString('base64');
/**
 * The secrets' telling parts: a record that holds any of them, in clear or inside base64 (even
 * base64 cut short, as an echoed argument would be), has leaked a credential.
 */
const telling = [PASSWORD, WRONG, TOKEN].map((secret) => secret.slice(0, 8));

/** The telling parts found in `text`, in clear or in any base64-looking run of it. */
function leaks(text: string): string[] {
  const decoded = (text.match(/[A-Za-z0-9+/]{8,}/g) ?? []).map((run) => Buffer.from(run, 'base64').toString('latin1'));
  return telling.filter((part) => text.includes(part) || decoded.some((d) => d.includes(part)));
}

/** Every form a secret takes on the wire. */
const secrets = [
  PASSWORD,
  WRONG,
  TOKEN,
  b64(PASSWORD),
  b64(WRONG),
  b64(`\0alice\0${PASSWORD}`),
  b64(`\0alice\0${WRONG}`),
  b64(`user=alice\x01auth=Bearer ${TOKEN}\x01\x01`),
];

interface Report {
  escapes: string[];
  sockets: number;
  activeConnections: number;
  stats: Record<string, number>;
  describe: string;
  deliveries: Array<{ id: string; accepted: boolean; recipients: string[]; user?: string }>;
  messages: string[];
  events: unknown[];
}

let folders: string[] = [];
let child: ChildProcessWithoutNullStreams;
let output = '';
let report: Report;
let apiBodies = '';
let relayed: { codes: string[][]; accepted: number };

function httpGet(url: string): Promise<{ status: number; body: string }> {
  // No keep-alive: the report counts sockets, and an idle pooled one must not be among them.
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

beforeAll(async () => {
  folders = await Promise.all(['cwd', 'home', 'tmp'].map((name) => mkdtemp(join(tmpdir(), `mailhole-sec-${name}-`))));
  const [cwd, home, tmp] = folders as [string, string, string];
  const script = fileURLToPath(new URL('./support/hostile-sink-child.mjs', import.meta.url));
  const options = { tls: 'both', auth: { users: { alice: PASSWORD } }, capture: 'full', api: true };
  child = spawn(process.execPath, [script, JSON.stringify(options)], {
    cwd,
    env: { ...process.env, HOME: home, TMPDIR: tmp, NODE_PATH: join(process.cwd(), 'node_modules') },
  });
  child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
  await within(
    new Promise<void>((resolve) => child.stdout.on('data', () => output.includes('\n') && resolve())),
    15_000,
    'the sink child starting',
  );
  const started = JSON.parse(output.split('\n')[0] as string) as {
    port: number;
    tlsPort: number;
    apiUrl: string;
    ca: string;
  };
  const { port, tlsPort, apiUrl, ca } = started;

  // Relay attempts: external recipients, source routes, percent hacks, and attachments whose names
  // point into the file system. The sink accepts them all and sends none of them anywhere.
  const relay = [
    'RCPT TO:<someone@example.com>',
    'RCPT TO:<@relay.example.net:user@far.example.org>',
    'RCPT TO:<user%far.example.org@sink.test>',
    'RCPT TO:<"user@far.example.org"@sink.test>',
    'RCPT TO:<user@[192.0.2.1]>',
  ];
  const attachment =
    'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n' +
    'Content-Disposition: attachment; filename="../../../../../tmp/mailhole-pwned"\r\n\r\nx\r\n--b\r\n' +
    'Content-Type: application/octet-stream; name="/etc/mailhole-pwned"\r\n\r\ny\r\n--b--\r\n';
  const codes = await Promise.all(
    relay.map(async (rcpt) =>
      finalCodes(
        await converse(
          port,
          `EHLO client.test\r\nMAIL FROM:<a@client.test>\r\n${rcpt}\r\nDATA\r\n${attachment}.\r\nETRN far.example.org\r\nTURN\r\n`,
        ),
      ),
    ),
  );

  // Credentials over every mechanism, right and wrong, and a client that puts them where the
  // mechanism name belongs.
  const send = async (options: Record<string, unknown>): Promise<void> => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      tls: { ca, servername: 'localhost' },
      ...options,
    });
    try {
      await transport.sendMail({ from: 'alice@client.test', to: 'friend@example.com', subject: 'hi', text: 'body' });
    } catch {
      // Refused logins are expected; what matters is what the sink kept of them.
    } finally {
      transport.close();
    }
  };
  await send({ requireTLS: true, auth: { user: 'alice', pass: PASSWORD } });
  await send({ requireTLS: true, auth: { user: 'alice', pass: WRONG }, authMethod: 'LOGIN' });
  await send({ ignoreTLS: true, auth: { user: 'alice', pass: WRONG }, authMethod: 'PLAIN' });
  await send({ port: tlsPort, secure: true, auth: { type: 'OAuth2', user: 'alice', accessToken: TOKEN } });
  // A client that forgot the mechanism name: its credentials are where the name belongs.
  await converse(port, ['EHLO client.test\r\n', `AUTH ${b64(`\0alice\0${PASSWORD}`)}\r\n`]);
  await converse(port, [
    'EHLO client.test\r\n',
    `AUTH ${b64(`\0alice\0${PASSWORD}`)}\r\n`,
    `AUTH PLAIN ${b64(`\0alice\0${WRONG}`)} extra\r\n`,
    `AUTH LOGIN ${b64('alice')}\r\n${b64(WRONG)}\r\n`,
    `AUTH PLAIN ${PASSWORD}\r\n`,
  ]);

  for (const path of ['/api/stats', '/api/info', '/api/describe', '/api/deliveries', '/api/messages']) {
    apiBodies += (await httpGet(`${apiUrl}${path}`)).body;
  }
  const [first] = (JSON.parse((await httpGet(`${apiUrl}/api/messages`)).body) as { messages: Array<{ id: string }> })
    .messages;
  if (first !== undefined) apiBodies += (await httpGet(`${apiUrl}/api/messages/${first.id}?parsed=true`)).body;

  const before = output.length;
  child.stdin.write('report\n');
  await within(
    new Promise<void>((resolve) => child.once('exit', () => resolve())),
    // The child waits up to 15 s for sockets its clients closed to finish closing on its side.
    30_000,
    'the sink child reporting and exiting',
  );
  report = JSON.parse(output.slice(before).trim().split('\n')[0] as string) as Report;
  relayed = { codes, accepted: report.stats.accepted as number };
}, 90_000);

afterAll(async () => {
  child?.kill();
  await Promise.all(folders.map((f) => rm(f, { recursive: true, force: true })));
});

describe('no relaying, ever', () => {
  it('accepts mail for any domain and delivers none of it anywhere', () => {
    for (const lines of relayed.codes)
      expect(lines.slice(0, 6)).toEqual(['220', '250', '250 2.1.0', '250 2.1.5', '354', '250 2.0.0']);
    expect(relayed.accepted).toBeGreaterThanOrEqual(5);
    // No TCP connect, DNS lookup, UDP socket or HTTP request left the sink's process.
    expect(report.escapes).toEqual([]);
  });

  it('holds no socket once its clients are gone', () => {
    expect(report.activeConnections).toBe(0);
    expect(report.sockets).toBe(0);
  });

  it('refuses ETRN and TURN, which would ask it to send mail out', () => {
    for (const lines of relayed.codes) expect(lines.slice(6, 8)).toEqual(['502 5.5.1', '502 5.5.1']);
  });
});

describe('nothing from a client reaches the file system', () => {
  it('writes no file, even for attachments named after paths, with capture full', async () => {
    expect(report.messages.some((m) => m.includes('mailhole-pwned'))).toBe(true);
    for (const folder of folders) expect(await readdir(folder)).toEqual([]);
    expect(report.escapes.filter((e) => e.startsWith('fs'))).toEqual([]);
  });
});

describe('credentials are never logged', () => {
  it('records the user of a successful AUTH, never a password or token', () => {
    expect(report.deliveries.some((d) => d.user === 'alice')).toBe(true);
  });

  it.each(secrets.map((s, i) => [i, s]))(
    'keeps secret #%i out of output, records, events, describe() and the API',
    (_, secret) => {
      expect(output).not.toContain(secret);
      expect(JSON.stringify(report)).not.toContain(secret);
      expect(apiBodies).not.toContain(secret);
    },
  );

  it('keeps even part of a secret out of them, in clear or in base64', () => {
    expect(leaks(output)).toEqual([]);
    expect(leaks(report.describe)).toEqual([]);
    expect(leaks(JSON.stringify(report.events))).toEqual([]);
    expect(leaks(JSON.stringify(report.deliveries))).toEqual([]);
    expect(leaks(apiBodies)).toEqual([]);
  });
});

// --- the control API -----------------------------------------------------------------------------------

describe('the control API', () => {
  let sink: Sink;
  const token = 'control-api-token';
  // node:http rather than fetch: a test must be free to send any Host and Origin header.
  const request = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${sink.apiUrl}${path}`, { method, headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  const auth = { authorization: `Bearer ${token}` };

  beforeAll(async () => {
    sink = await startSink({ api: { token } });
    await nodemailer
      .createTransport({ host: sink.host, port: sink.port, ignoreTLS: true })
      .sendMail({ from: 'a@client.test', to: 'b@sink.test', text: 'one' });
  });
  afterAll(() => sink.close());

  it('refuses requests without the token with 401', async () => {
    expect((await request('/api/stats')).status).toBe(401);
    expect((await request('/api/stats', { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await request('/api/stats', { authorization: token })).status).toBe(401);
  });

  it('answers a request with the token', async () => {
    const res = await request('/api/stats', auth);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ accepted: 1 });
  });

  it.each([
    ['another Origin', { origin: 'http://evil.example' }],
    ['a null Origin', { origin: 'null' }],
    ['a cross-site fetch', { 'sec-fetch-site': 'cross-site' }],
    ['a foreign Host name (DNS rebinding)', { host: 'evil.example' }],
  ])('refuses %s with 403, token or not', async (_, headers) => {
    expect((await request('/api/stats', { ...auth, ...headers })).status).toBe(403);
  });

  it('changes nothing on a refused POST', async () => {
    expect((await request('/api/reset', { ...auth, origin: 'http://evil.example' }, 'POST')).status).toBe(403);
    expect((await request('/api/reset', {}, 'POST')).status).toBe(401);
    expect(sink.accepted).toBe(1);
  });

  it('accepts its own origin', async () => {
    const own = new URL(sink.apiUrl as string);
    expect((await request('/api/stats', { ...auth, origin: own.origin })).status).toBe(200);
  });
});
