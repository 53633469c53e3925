import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Sink, startSink } from '@mailhole/core';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool, run } from './support/child.js';

let sink: Sink | undefined;
let folder: string | undefined;

afterEach(async () => {
  await sink?.close();
  sink = undefined;
  if (folder !== undefined) await rm(folder, { recursive: true, force: true });
  folder = undefined;
});

describe('curl smtp:// against the sink', () => {
  it('uploads a message file that arrives byte for byte with its envelope', async () => {
    const curl = requireTool('curl', 'apt-get install curl');
    sink = await startSink({ capture: 'full' });
    folder = await mkdtemp(join(tmpdir(), 'mailhole-curl-'));
    const message =
      'From: curl@example.test\r\nSubject: curl upload\r\n\r\nfirst line\r\n.a line curl must dot-stuff\r\n';
    const file = join(folder, 'message.eml');
    await writeFile(file, message);

    const result = await run(curl, [
      '--silent',
      '--show-error',
      sink.url,
      '--mail-from',
      'curl@example.test',
      '--mail-rcpt',
      'one@example.test',
      '--mail-rcpt',
      'two@example.test',
      '-T',
      file,
    ]);
    const [record] = await sink.waitFor(1);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(record?.sender).toBe('curl@example.test');
    expect(record?.recipients).toEqual(['one@example.test', 'two@example.test']);
    expect(record?.size).toBe(Buffer.byteLength(message));
    expect(sink.messages()[0]?.raw.toString()).toBe(message);
  });
});
