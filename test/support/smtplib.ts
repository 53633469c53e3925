import type { Sink } from '@mailhole/core';
import { requireTool, run } from './child.js';

/** One message for `sendWithSmtplib`: the body is the whole message text (headers, blank line, body). */
export interface SmtplibMessage {
  from: string;
  to: string[];
  body: string;
}

/** What smtplib saw for one message: 250, or the code and text of the SMTPDataError it raised. */
export interface SmtplibOutcome {
  code: number;
  text: string;
  /** Seconds `sendmail` took, measured by Python. */
  seconds: number;
}

// Python's own smtplib sends every message over one connection and reports each final reply.
const script = `
import json, smtplib, sys, time
host, port, messages = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
started = time.monotonic()
out = {'messages': []}
with smtplib.SMTP(host, port, timeout=90) as client:
    out['connectSeconds'] = time.monotonic() - started
    client.ehlo('python.test')
    for m in messages:
        started = time.monotonic()
        try:
            client.sendmail(m['from'], m['to'], m['body'].encode('utf-8'))
            code, text = 250, ''
        except smtplib.SMTPDataError as e:
            code, text = e.smtp_code, e.smtp_error.decode()
        out['messages'].append({'code': code, 'text': text, 'seconds': time.monotonic() - started})
print(json.dumps(out))
`;

/**
 * Sends the messages with Python's smtplib, in order, over one connection.
 *
 * @example const [first] = (await sendWithSmtplib(sink, [{ from, to: [rcpt], body }])).messages;
 */
export async function sendWithSmtplib(
  sink: Sink,
  messages: SmtplibMessage[],
): Promise<{ connectSeconds: number; messages: SmtplibOutcome[] }> {
  const python = requireTool('python3', 'apt-get install python3');
  const result = await run(python, ['-c', script, sink.host, String(sink.port), JSON.stringify(messages)], {
    timeout: 120_000,
  });
  if (result.code !== 0) throw new Error(`python3 smtplib failed (exit ${result.code}):\n${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** A message text with the given extra header lines and body. */
export function messageText(headers: string[], body = 'Hello from smtplib.'): string {
  return [...headers, 'Subject: header switch test', '', body, ''].join('\r\n');
}
