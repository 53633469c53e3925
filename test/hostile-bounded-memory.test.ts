import { connectSink } from '@mailhole/core';
import { describe, expect, it } from 'vitest';
import { hostileSink, noConnectionsLeft, rawSocket, readUntilClosed, replyLines } from './support/hostile-wire.js';

const rcpts = (n: number, pad = '') =>
  Array.from({ length: n }, (_, i) => `RCPT TO:<r${i}@${pad}sink.test>\r\n`).join('');

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown>; bytes: number }> {
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text), bytes: Buffer.byteLength(text) };
}

describe('a recipient flood on a real connection', () => {
  it('ends with 421 4.7.0 naming maxInvalidCommands and leaves the sink serving', async () => {
    const { sink } = await hostileSink({ maxRecipients: 10 });
    const socket = await rawSocket(sink.port);
    const transcript = readUntilClosed(socket);
    // Far more than the limits allow, in one write: the sink must end it, not keep reading.
    socket.write(`EHLO flood.test\r\nMAIL FROM:<f@flood.test>\r\n${rcpts(50_000)}`);
    const lines = replyLines(await transcript);
    const last = lines.at(-1) as string;
    expect(last).toMatch(/^421 4\.7\.0 .*maxInvalidCommands/);
    // 10 accepted, 10 overshoot, then 20 counted errors (the 20th followed by the 421).
    expect(lines.filter((l) => l.startsWith('452 4.5.3'))).toHaveLength(30);
    await noConnectionsLeft(sink);
    expect(sink.stats().recipientsAccepted).toBe(10);
  });
});

describe('bounded API answers', () => {
  it('pages /api/deliveries at 1000 records, and the remote client reads every page', async () => {
    const { sink } = await hostileSink({ maxRecords: 1200, api: true });
    const socket = await rawSocket(sink.port);
    const transcript = readUntilClosed(socket, 30_000);
    const one = 'MAIL FROM:<a@client.test>\r\nRCPT TO:<b@sink.test>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n';
    socket.write(`EHLO pages.test\r\n${one.repeat(1001)}QUIT\r\n`);
    await transcript;
    await sink.waitFor(1001);

    const first = await getJson(`${sink.apiUrl}/api/deliveries`);
    const page = first.body.deliveries as Array<{ seq: number }>;
    expect(page).toHaveLength(1000);
    expect(first.body.next).toBe(page.at(-1)?.seq);
    const second = await getJson(`${sink.apiUrl}/api/deliveries?after=${first.body.next}`);
    expect(second.body.deliveries as unknown[]).toHaveLength(1);
    expect(second.body.next).toBeUndefined();
    // `limit` alone still means "the newest N".
    const newest = await getJson(`${sink.apiUrl}/api/deliveries?limit=2`);
    expect((newest.body.deliveries as Array<{ seq: number }>).map((r) => r.seq)).toEqual([1000, 1001]);
    const tooMany = await getJson(`${sink.apiUrl}/api/deliveries?limit=1001`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toMatch(/limit must be a whole number from 0 to 1000/);

    const remote = await connectSink(sink.apiUrl as string);
    expect(await remote.deliveries()).toHaveLength(1001);
  });

  it('cuts a record past 64 KiB in a list, gives it whole by id, and the remote client whole', async () => {
    const { sink } = await hostileSink({ maxRecipients: 1500, api: true });
    const pad = `${'x'.repeat(60)}.`;
    const socket = await rawSocket(sink.port);
    const transcript = readUntilClosed(socket, 30_000);
    socket.write(
      `EHLO big.test\r\nMAIL FROM:<a@client.test>\r\n${rcpts(1500, pad)}DATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n`,
    );
    await transcript;
    const [record] = await sink.waitFor(1);

    const list = await getJson(`${sink.apiUrl}/api/deliveries`);
    const [listed] = list.body.deliveries as Array<{ truncated?: boolean; recipients: string[] }>;
    expect(listed?.truncated).toBe(true);
    expect(JSON.stringify(listed).length).toBeLessThanOrEqual(64 * 1024);
    expect(listed?.recipients.length).toBeGreaterThan(0);

    const byId = await getJson(`${sink.apiUrl}/api/deliveries/${record?.id}`);
    expect((byId.body.delivery as { recipients: string[] }).recipients).toHaveLength(1500);
    expect((await getJson(`${sink.apiUrl}/api/deliveries/nope`)).status).toBe(404);

    const remote = await connectSink(sink.apiUrl as string);
    const [whole] = await remote.deliveries();
    expect(whole?.recipients).toHaveLength(1500);
    expect(whole?.truncated).toBeUndefined();
    const [waited] = await remote.waitFor(1);
    expect(waited?.recipients).toHaveLength(1500);
  });

  it('keeps rejected recipients within maxRejectedRecipients in the record and its JSON', async () => {
    const { sink } = await hostileSink({ maxRecipients: 1, maxRejectedRecipients: 5, api: true });
    const socket = await rawSocket(sink.port);
    const transcript = readUntilClosed(socket, 30_000);
    // 1 accepted, then 1 free overshoot and 18 counted errors: under the hard limit of 20.
    socket.write(
      `EHLO r.test\r\nMAIL FROM:<a@client.test>\r\n${rcpts(20)}DATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n`,
    );
    await transcript;
    const [record] = await sink.waitFor(1);
    expect(record?.rejectedRecipients).toHaveLength(5);
    expect(record?.rejectedRecipientsOmitted).toBe(14);
    const listed = (await getJson(`${sink.apiUrl}/api/deliveries`)).body.deliveries as Array<{
      rejectedRecipientsOmitted: number;
    }>;
    expect(listed[0]?.rejectedRecipientsOmitted).toBe(14);
  });
});
