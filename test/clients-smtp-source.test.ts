import { type Sink, startSink } from '@mailhole/core';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool, run } from './support/child.js';

let sink: Sink | undefined;

afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

/** Postfix's load generator; it exits non-zero on any reply it did not expect. */
async function smtpSource(target: Sink, flags: string[]): Promise<void> {
  const program = requireTool('/usr/sbin/smtp-source', 'apt-get install postfix (smtp-source ships with it)');
  const args = [...flags, '-f', 'load@example.test', '-t', 'sink@example.test', '-M', 'source.test'];
  const result = await run(program, [...args, `${target.host}:${target.port}`], { timeout: 60_000 });
  if (result.code !== 0) {
    throw new Error(`smtp-source failed (exit ${result.code}): ${result.stderr}\n${target.describe()}`);
  }
}

describe("Postfix's smtp-source against the sink", () => {
  it('counts exactly 3000 messages over 5 kept-open sessions', async () => {
    sink = await startSink();

    await smtpSource(sink, ['-s', '5', '-m', '3000', '-l', '1000', '-d']);

    const stats = sink.stats();
    expect(sink.accepted).toBe(3000);
    expect(stats).toMatchObject({ connections: 5, transactions: 3000, recipientsAccepted: 3000, rejected: 0 });
    expect(stats.acceptedBytes).toBeGreaterThan(3000 * 1000);
  });

  it('counts exactly 500 messages sent over a new connection each', async () => {
    sink = await startSink();

    await smtpSource(sink, ['-s', '5', '-m', '500', '-l', '1000']);

    expect(sink.accepted).toBe(500);
    expect(sink.stats()).toMatchObject({ connections: 500, transactions: 500, rejected: 0, refusedConnections: 0 });
  });
});
