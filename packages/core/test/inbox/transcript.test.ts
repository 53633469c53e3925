import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startSink } from '@mailhole/core';
import nodemailer from 'nodemailer';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Transcripts } from '../../src/record/transcript.js';

const connection = (id: number) => ({
  id,
  remoteAddress: '127.0.0.1',
  remotePort: 40000 + id,
  localPort: 25,
  listener: 'smtp',
});

describe('session transcripts: bounds', () => {
  it('keeps the start and the latest lines of a long session within maxBytes, and counts what it dropped', () => {
    const transcripts = new Transcripts({ maxBytes: 1024 });
    const t = transcripts.open(connection(1));
    t.command('EHLO start.test');
    for (let i = 0; i < 500; i++) t.command(`NOOP ${i}`);
    const record = transcripts.get(1);
    expect(record?.head[0]?.text).toBe('EHLO start.test');
    expect(record?.tail.at(-1)?.text).toBe('NOOP 499');
    expect(record?.omitted).toBeGreaterThan(0);
    const kept = [...(record?.head ?? []), ...(record?.tail ?? [])];
    expect(kept.length + (record?.omitted ?? 0)).toBe(501);
    const size = kept.reduce((sum, e) => sum + 16 + e.text.length, 0);
    expect(size).toBeLessThanOrEqual(1024);
  });

  it('drops nothing from a session that fits exactly', () => {
    const transcripts = new Transcripts({ maxBytes: 256 });
    const t = transcripts.open(connection(1));
    // 16 octets of overhead + 112 characters = 128 = half the budget: the head holds it whole.
    t.command('x'.repeat(112));
    t.command('y'.repeat(112));
    const record = transcripts.get(1);
    expect(record?.omitted).toBe(0);
    expect(record?.head).toHaveLength(1);
    expect(record?.tail).toHaveLength(1);
  });

  it('cuts a single line past 1000 characters and says how long it was', () => {
    const transcripts = new Transcripts({});
    transcripts.open(connection(1)).command('z'.repeat(5000));
    expect(transcripts.get(1)?.head[0]?.text).toMatch(/^z{1000}… \(5000 characters\)$/);
  });

  it('drops the oldest finished session first once maxSessions is reached, never an open one while a finished one is left', () => {
    const transcripts = new Transcripts({ maxSessions: 2 });
    transcripts.open(connection(1));
    transcripts.open(connection(2));
    transcripts.closed(2);
    transcripts.open(connection(3));
    expect(transcripts.get(1)).toBeDefined();
    expect(transcripts.get(2)).toBeUndefined();
    expect(transcripts.get(3)).toBeDefined();
  });

  it('rejects bad bounds naming the option', async () => {
    await expect(startSink({ transcripts: { maxBytes: 10 } })).rejects.toThrow(
      /"transcripts.maxBytes" must be a whole number of at least 256/,
    );
    await expect(startSink({ transcripts: { maxSessions: 0 } })).rejects.toThrow(/"transcripts.maxSessions"/);
    // @ts-expect-error an unknown key is named
    await expect(startSink({ transcripts: { size: 1 } })).rejects.toThrow(/unknown option "transcripts.size"/);
  });

  it('are kept only when asked or when the API is on', async () => {
    const bare = await startSink();
    onTestFinished(() => bare.close());
    expect(bare.transcripts).toBeUndefined();
    const withApi = await startSink({ api: true });
    onTestFinished(() => withApi.close());
    expect(withApi.transcripts).toBeDefined();
    const asked = await startSink({ transcripts: true });
    onTestFinished(() => asked.close());
    expect(asked.transcripts).toBeDefined();
  });
});

describe('session transcripts: what a real client session records', () => {
  it('masks the AUTH secret, names the mechanism and user, and shows TLS with SNI after STARTTLS', async () => {
    const sink = await startSink({ tls: 'starttls', transcripts: true, auth: true });
    onTestFinished(() => sink.close());
    const transport = nodemailer.createTransport({
      host: sink.host,
      port: sink.port,
      requireTLS: true,
      tls: sink.clientTls(),
      auth: { user: 'ada', pass: 'correct horse battery staple' },
      authMethod: 'PLAIN',
    });
    onTestFinished(() => transport.close());
    await transport.sendMail({ from: 'ada@test', to: 'bob@test', subject: 'transcript', text: 'hi' });
    const [record] = await sink.waitFor(1);
    const transcript = sink.transcript(record?.connectionId as number);
    const lines = [...(transcript?.head ?? []), ...(transcript?.tail ?? [])];
    const text = lines.map((l) => l.text).join('\n');
    expect(text).not.toContain(Buffer.from('\0ada\0correct horse battery staple').toString('base64'));
    expect(text).not.toContain('correct horse');
    expect(text).toMatch(/AUTH PLAIN <masked>/);
    expect(transcript?.auth).toEqual({ mechanism: 'PLAIN', user: 'ada' });
    expect(transcript?.tls).toMatchObject({ mode: 'starttls', servername: 'localhost' });
    const starttls = lines.findIndex((l) => l.from === 'client' && l.text === 'STARTTLS');
    const upgraded = lines.findIndex(
      (l) => l.from === 'note' && l.text.startsWith('TLS established (starttls): TLSv1.'),
    );
    expect(starttls).toBeGreaterThan(0);
    expect(upgraded).toBeGreaterThan(starttls);
    expect(lines.find((l) => l.from === 'server' && l.text.includes(record?.id as string))?.text).toMatch(
      /^250 2\.0\.0/,
    );
  });

  it('says which fault rule, mode or header switch decided a reply', async () => {
    const sink = await startSink({ transcripts: true, headerSwitches: true });
    onTestFinished(() => sink.close());
    sink.faults.add({
      name: 'no-carol',
      stage: 'rcpt',
      match: { recipient: 'carol@test' },
      action: '550 5.1.1 No such user',
    });
    const transport = nodemailer.createTransport({ host: sink.host, port: sink.port, pool: false });
    onTestFinished(() => transport.close());
    await transport.sendMail({ from: 'a@test', to: ['bob@test', 'carol@test'], subject: 's', text: 'x' });
    await transport
      .sendMail({ from: 'a@test', to: 'bob@test', subject: 's', text: 'x', headers: { 'X-Mailhole-Mode': 'bounce' } })
      .catch(() => undefined);
    sink.setMode('bounce');
    await transport.sendMail({ from: 'a@test', to: 'bob@test', subject: 's', text: 'x' }).catch(() => undefined);
    const records = sink.deliveries({ includeRejected: true });
    expect(records).toHaveLength(3);
    const decided = (i: number) => {
      const t = sink.transcript(records[i]?.connectionId as number);
      return [...(t?.head ?? []), ...(t?.tail ?? [])]
        .filter((l) => l.decidedBy !== undefined)
        .map((l) => `${l.text.slice(0, 3)} ${l.decidedBy}`);
    };
    expect(decided(0)).toEqual(['550 fault rule "no-carol" (reply 550 5.1.1 No such user)']);
    expect(decided(1)).toHaveLength(1);
    expect(decided(1)[0]).toMatch(/^[45]\d\d header switch \(mode bounce\)$/);
    expect(decided(2)).toHaveLength(1);
    expect(decided(2)[0]).toMatch(/^[45]\d\d mode bounce$/);
  });

  it('records a swaks session, the DATA content left out', () => {
    return (async () => {
      const sink = await startSink({ transcripts: true });
      onTestFinished(() => sink.close());
      await promisify(execFile)('swaks', [
        '--server',
        `${sink.host}:${sink.port}`,
        '--to',
        'bob@test',
        '--from',
        'a@test',
        '--body',
        'secret body text',
      ]);
      const [record] = await sink.waitFor(1);
      const t = sink.transcript(record?.connectionId as number);
      const text = [...(t?.head ?? []), ...(t?.tail ?? [])].map((l) => l.text).join('\n');
      expect(text).toMatch(/^C?.*MAIL FROM:<a@test>/m);
      expect(text).toMatch(/message: \d+ octets \(DATA\)/);
      expect(text).not.toContain('secret body text');
      expect(t?.endedAt).toBeGreaterThan(0);
    })();
  });
});
