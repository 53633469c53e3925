import { type Sink, startSink } from '@mailhole/core';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool, run } from './support/child.js';

let sink: Sink | undefined;

afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

// The client is Python's own smtplib; the script prints what sendmail returned (refused recipients).
const script = `
import json, smtplib, sys
host, port, sender, body = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
recipients = json.loads(sys.argv[5])
options = ['SMTPUTF8'] if sys.argv[6] == 'utf8' else []
with smtplib.SMTP(host, port, timeout=10) as client:
    client.ehlo('python.test')
    refused = client.sendmail(sender, recipients, body.encode('utf-8'), mail_options=options)
    print(json.dumps({'refused': refused, 'smtputf8': client.has_extn('smtputf8')}))
`;

async function sendWithSmtplib(target: Sink, sender: string, recipients: string[], body: string, utf8: boolean) {
  const python = requireTool('python3', 'apt-get install python3');
  const args = ['-c', script, target.host, String(target.port), sender, body, JSON.stringify(recipients)];
  const result = await run(python, [...args, utf8 ? 'utf8' : 'ascii']);
  if (result.code !== 0) throw new Error(`python3 smtplib failed (exit ${result.code}):\n${result.stderr}`);
  return JSON.parse(result.stdout) as { refused: Record<string, unknown>; smtputf8: boolean };
}

describe("Python's smtplib against the sink", () => {
  it('sends one message to two recipients, recorded with both', async () => {
    sink = await startSink({ capture: 'full' });
    const body = 'Subject: from smtplib\r\n\r\nHello from Python.\r\n';

    const result = await sendWithSmtplib(
      sink,
      'py@example.test',
      ['one@example.test', 'two@example.test'],
      body,
      false,
    );
    const [record] = await sink.waitFor(1);

    expect(result.refused).toEqual({});
    expect(record?.sender).toBe('py@example.test');
    expect(record?.recipients).toEqual(['one@example.test', 'two@example.test']);
    expect(record?.smtputf8).toBe(false);
    expect(record?.size).toBe(Buffer.byteLength(body));
    expect(sink.messages()[0]?.raw.toString('utf8')).toBe(body);
    expect(sink.stats()).toMatchObject({ accepted: 1, recipientsAccepted: 2, recipientsRejected: 0 });
  });

  it('sends to a UTF-8 address with SMTPUTF8, recorded as such', async () => {
    sink = await startSink({ capture: 'full' });
    const body = 'Subject: =?utf-8?q?d=C3=A9j=C3=A0?=\r\n\r\nΚαλημέρα κόσμε.\r\n';

    const result = await sendWithSmtplib(
      sink,
      'αποστολέας@παράδειγμα.δοκιμή',
      ['δοκιμή@παράδειγμα.δοκιμή', 'plain@example.test'],
      body,
      true,
    );
    const [record] = await sink.waitFor(1);

    expect(result).toEqual({ refused: {}, smtputf8: true });
    expect(record?.sender).toBe('αποστολέας@παράδειγμα.δοκιμή');
    expect(record?.recipients).toEqual(['δοκιμή@παράδειγμα.δοκιμή', 'plain@example.test']);
    expect(record?.smtputf8).toBe(true);
    expect(record?.size).toBe(Buffer.byteLength(body));
    expect(sink.messages()[0]?.raw.toString('utf8')).toBe(body);
  });
});
