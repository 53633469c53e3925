import { connectSink, type StartOptions, startSink } from '@mailhole/core';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { folderForTest } from '../../../test/support/tls-clients.js';
import { opensslCertificate } from '../../../test/support/tls-openssl.js';
import { spawnServe, stopServers } from './control-serve.js';

// RemoteSink.clientTls() must hand a client the settings the sink's own clientTls() gives in its
// process: the same CA, server name and lowest TLS version.

const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await stopServers();
});

async function sinkWithApi(options: StartOptions) {
  const sink = await startSink({ ...options, api: true });
  cleanups.push(() => sink.close());
  return sink;
}

async function sendOverStarttls(host: string, port: number, tls: object) {
  const transport = nodemailer.createTransport({ host, port, secure: false, requireTLS: true, tls });
  cleanups.push(async () => transport.close());
  return transport.sendMail({ from: 'app@test.example', to: 'user@test.example', subject: 'tls', text: 'hi' });
}

describe('remote clientTls() equals the in-process one', () => {
  it('for a STARTTLS sink with the generated certificate', async () => {
    const sink = await sinkWithApi({ tls: 'starttls' });

    const remote = await connectSink(sink.apiUrl as string);

    expect(remote.clientTls()).toEqual(sink.clientTls());
    expect(remote.clientTls().servername).toBe('localhost');
  });

  it('for a sink that accepts TLS 1.3 only', async () => {
    const sink = await sinkWithApi({ tls: 'both', minTlsVersion: 'TLSv1.3' });

    const remote = await connectSink(sink.apiUrl as string);

    expect(remote.clientTls()).toEqual(sink.clientTls());
    expect(remote.clientTls().minVersion).toBe('TLSv1.3');
  });

  it('for a sink with a certificate of its own that does not name localhost, and a client verifies it', async () => {
    const own = await opensslCertificate(await folderForTest(), ['mail.own.test']);
    const sink = await sinkWithApi({ tls: 'starttls', certificate: own });

    const remote = await connectSink(sink.apiUrl as string);
    const info = await sendOverStarttls(remote.host, remote.port, remote.clientTls());

    expect(remote.clientTls()).toEqual(sink.clientTls());
    expect(remote.clientTls().servername).toBe('mail.own.test');
    expect(info.response).toMatch(/^250 /);
  });

  it('for mailhole serve --starttls, whose settings a client verifies the server with', async () => {
    const server = await spawnServe(['--port', '0', '--api-port', '0', '--starttls']);

    const remote = await connectSink(server.api);
    const info = await sendOverStarttls(remote.host, remote.port, remote.clientTls());
    const view = await remote.view();

    expect(remote.clientTls()).toEqual({
      ca: remote.ca,
      servername: 'localhost',
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      secureContext: expect.anything(),
    });
    expect(view.clientTls()).toEqual(remote.clientTls());
    expect(info.response).toMatch(/^250 /);
  });

  it('reports the seed in force, as sink.seed does', async () => {
    const sink = await sinkWithApi({ mode: 'random', seed: 1234 });

    const remote = await connectSink(sink.apiUrl as string);

    expect(remote.seed).toBe(1234);
    expect(remote.seed).toBe(sink.seed);
  });
});
