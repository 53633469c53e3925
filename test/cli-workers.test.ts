import { afterEach, describe, expect, it } from 'vitest';
import {
  alive,
  requireTool,
  runCli,
  runProgram,
  spawnServe,
  stopServers,
} from '../packages/core/test/control-serve.js';

afterEach(async () => {
  await stopServers();
});

/** Resolves once none of `pids` is running; fails the test if one outlives `timeout`. */
async function gone(pids: number[], timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (pids.some(alive)) {
    if (Date.now() > deadline)
      throw new Error(`processes still running after ${timeout} ms: ${pids.filter(alive).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('mailhole serve --workers', () => {
  it('counts exactly 200 messages spread over 2 worker processes', async () => {
    const smtpSource = requireTool('smtp-source', 'apt-get install postfix');
    const server = await spawnServe(['--port', '0', '--api-port', '0', '--workers', '2', '--log', 'events']);

    const sent = await runProgram(smtpSource, [
      '-m',
      '200',
      '-s',
      '10',
      '-f',
      'load@test.example',
      '-t',
      'sink@test.example',
      `127.0.0.1:${server.port}`,
    ]);
    const waited = await runCli(['wait', '--api', server.api, '--count', '200', '--timeout', '20s']);
    const stats = JSON.parse((await runCli(['stats', '--api', server.api, '--json'])).stdout);
    const { stdout } = await server.stop('SIGTERM');
    const deliveries = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((e) => e.event === 'delivery');

    expect(sent.code).toBe(0);
    expect(waited.code).toBe(0);
    expect(stats).toMatchObject({ accepted: 200, rejected: 0, transactions: 200, recipientsAccepted: 200 });
    expect(deliveries).toHaveLength(200);
    expect(new Set(deliveries.map((d) => d.pid))).toEqual(new Set(server.listening.workerPids));
  });

  it('answers counts, and says why it cannot list deliveries', async () => {
    const server = await spawnServe(['--port', '0', '--api-port', '0', '--workers', '2']);

    const info = await (await fetch(`${server.api}/api/info`)).json();
    const listing = await fetch(`${server.api}/api/deliveries`);
    const wait = await runCli(['wait', '--api', server.api, '--to', 'x@test.example', '--timeout', '1s']);

    expect(info).toMatchObject({ workers: 2, port: server.port });
    expect(listing.status).toBe(409);
    expect((await listing.json()).error).toContain('run without --workers to query deliveries');
    expect(wait.code).toBe(3);
  });

  it('zeroes every worker on reset', async () => {
    const smtpSource = requireTool('smtp-source', 'apt-get install postfix');
    const server = await spawnServe(['--port', '0', '--api-port', '0', '--workers', '2']);
    await runProgram(smtpSource, [
      '-m',
      '20',
      '-s',
      '4',
      '-f',
      'a@test.example',
      '-t',
      'b@test.example',
      `127.0.0.1:${server.port}`,
    ]);
    await runCli(['wait', '--api', server.api, '--count', '20', '--timeout', '20s']);

    const reset = await (await fetch(`${server.api}/api/reset`, { method: 'POST' })).json();
    await runProgram(smtpSource, [
      '-m',
      '4',
      '-s',
      '2',
      '-f',
      'a@test.example',
      '-t',
      'b@test.example',
      `127.0.0.1:${server.port}`,
    ]);
    const waited = await runCli(['wait', '--api', server.api, '--count', '4', '--timeout', '20s']);
    const stats = JSON.parse((await runCli(['stats', '--api', server.api, '--json'])).stdout);

    expect(reset.stats).toMatchObject({ accepted: 0, connections: 0 });
    expect(waited.code).toBe(0);
    expect(stats.accepted).toBe(4);
  });

  it('on SIGTERM stops every worker, prints the summed summary and exits 0', async () => {
    const swaks = requireTool('swaks', 'apt-get install swaks');
    const server = await spawnServe(['--port', '0', '--api-port', '0', '--workers', '2']);
    const workers = server.listening.workerPids ?? [];
    for (let i = 0; i < 3; i++)
      await runProgram(swaks, ['--server', `127.0.0.1:${server.port}`, '--to', 'x@test.example']);
    await runCli(['wait', '--api', server.api, '--count', '3', '--timeout', '10s']);

    const { code, stdout } = await server.stop('SIGTERM');
    const summary = JSON.parse(stdout.trim().split('\n').pop() as string);

    expect(workers).toHaveLength(2);
    expect(code).toBe(0);
    expect(summary).toMatchObject({ event: 'summary', accepted: 3 });
    expect(workers.filter(alive)).toEqual([]);
  });

  it('leaves no orphan worker when the primary is killed outright', async () => {
    const server = await spawnServe(['--port', '0', '--api-port', '0', '--workers', '2']);
    const workers = server.listening.workerPids ?? [];

    await server.stop('SIGKILL');

    expect(workers).toHaveLength(2);
    await gone(workers);
  });
});
