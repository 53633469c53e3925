import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgram, type ServeProcess, spawnServe, stopServers } from './control-serve.js';

// Jest's jsdom environment has no global fetch and no setImmediate, and a test may freeze the
// global timers with fake ones. The remote client must not care: it speaks node:http and times
// its requests with node:timers.

let server: ServeProcess;
const workspace = fileURLToPath(new URL('../../..', import.meta.url));

beforeAll(async () => {
  server = await spawnServe(['--port', '0', '--api-port', '0']);
});

afterAll(async () => {
  await server?.stop();
  await stopServers();
});

/** Globals as a jsdom test environment with frozen fake timers leaves them, then the CommonJS build. */
const JSDOM_LIKE = `
  for (const name of ['fetch', 'Headers', 'Request', 'Response', 'setImmediate', 'clearImmediate']) delete globalThis[name];
  const frozen = () => ({ ref() { return this; }, unref() { return this; }, hasRef: () => true, refresh() { return this; } });
  globalThis.setTimeout = frozen;
  globalThis.setInterval = frozen;
  globalThis.clearTimeout = () => {};
  globalThis.clearInterval = () => {};
  const { connectSink } = require('@mailhole/core');
`;

function runJsdomLike(body: string) {
  return runProgram(
    process.execPath,
    ['--eval', `${JSDOM_LIKE}\n(async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(1); });`],
    { ...process.env, API: server.api, MAILHOLE_API_TOKEN: '' },
    20_000,
    workspace,
  );
}

async function send(subject: string) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: server.port, secure: false });
  try {
    return await transport.sendMail({ from: 'app@test.example', to: 'user@test.example', subject, text: 'hi' });
  } finally {
    transport.close();
  }
}

describe('connectSink without a global fetch (Jest jsdom)', () => {
  it('waits, reads and adds a fault rule that a sender then meets, and the script ends by itself', async () => {
    await send('before');

    const result = await runJsdomLike(`
      const sink = await connectSink(process.env.API);
      const [record] = await sink.waitFor({ subject: 'before' }, { timeout: 5000 });
      await sink.faults.failNext(451);
      const timedOut = await sink.waitFor(99, { timeout: 200 }).catch((e) => e.name);
      console.log(JSON.stringify({
        fetch: typeof fetch,
        subject: record.subject,
        accepted: await sink.accepted(),
        rules: (await sink.faults.list()).map((r) => r.action.code),
        timedOut,
      }));
    `);
    const refused = await send('after').catch((e: { responseCode?: number }) => e);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      fetch: 'undefined',
      subject: 'before',
      accepted: 1,
      rules: [451],
      timedOut: 'WaitTimeoutError',
    });
    expect(refused).toMatchObject({ responseCode: 451 });
  });

  it('still gives up on a control API that never answers, at the request timeout', async () => {
    const result = await runJsdomLike(`
      const silent = require('node:net').createServer(() => {}).listen(0, '127.0.0.1');
      await new Promise((resolve) => silent.once('listening', resolve));
      const url = 'http://127.0.0.1:' + silent.address().port;
      const error = await connectSink(url, { timeout: 300 }).catch((e) => e);
      silent.close();
      console.log(JSON.stringify({ name: error.name, status: error.status, message: error.message.replace(url, 'URL') }));
    `);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      name: 'RemoteError',
      status: 0,
      message: 'the mailhole control API at URL did not answer GET /api/info within 300 ms',
    });
  });
});
