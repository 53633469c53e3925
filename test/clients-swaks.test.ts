import { type Sink, startSink } from '@mailhole/core';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool, run } from './support/child.js';

let sink: Sink | undefined;

afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

async function swaks(target: Sink, extra: string[]) {
  const program = requireTool('swaks', 'apt-get install swaks');
  const result = await run(program, [
    '--server',
    `${target.host}:${target.port}`,
    '--from',
    'swaks@example.test',
    '--to',
    'rcpt@example.test',
    '--helo',
    'swaks.test',
    ...extra,
  ]);
  if (result.code !== 0) throw new Error(`swaks failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  // Lines of DATA carry their CRLF in swaks's transcript; commands end in LF.
  return result.stdout.split(/\r?\n/);
}

/** The lines swaks sent between the 354 reply and the final dot, as they went over the wire. */
function dataLines(transcript: string[]): string[] {
  const start = transcript.findIndex((line) => line.startsWith('<-  354'));
  const end = transcript.findIndex((line, i) => i > start && line === ' -> .');
  return transcript.slice(start + 1, end).map((line) => line.replace(/^ -> /, ''));
}

describe('swaks against the sink', () => {
  it('pipelines MAIL, RCPT and DATA in one group and gets their replies in order', async () => {
    sink = await startSink();

    const transcript = await swaks(sink, ['--pipeline']);
    await sink.waitFor(1);

    const mail = transcript.findIndex((line) => line.startsWith(' -> MAIL FROM:'));
    // Without pipelining swaks prints each command followed by its reply; pipelined, the three go first.
    const steps = transcript.slice(mail, mail + 6).map((line) => /^( -> [A-Z]+|<- {2}\d{3})/.exec(line)?.[0]);
    expect(steps).toEqual([' -> MAIL', ' -> RCPT', ' -> DATA', '<-  250', '<-  250', '<-  354']);
    expect(transcript.some((line) => line.startsWith('<** '))).toBe(false);
    expect(sink.deliveries()[0]).toMatchObject({ sender: 'swaks@example.test', recipients: ['rcpt@example.test'] });
  });

  it('dot-stuffed body lines arrive unstuffed, byte for byte', async () => {
    sink = await startSink({ capture: 'full' });

    const transcript = await swaks(sink, ['--body', '.one dot\n..two dots\n...\nplain']);
    const [record] = await sink.waitFor(1);

    const sent = dataLines(transcript);
    // swaks really stuffed them: every body line that starts with a dot went out with one more.
    expect(sent).toEqual(expect.arrayContaining(['..one dot', '...two dots', '....']));
    const unstuffed = sent.map((line) => `${line.startsWith('.') ? line.slice(1) : line}\r\n`).join('');
    expect(sink.messages()[0]?.raw.toString('latin1')).toBe(unstuffed);
    expect(record?.size).toBe(Buffer.byteLength(unstuffed));
  });
});
