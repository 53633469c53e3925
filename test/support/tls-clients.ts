import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Sink, type StartOptions, startSink } from '@mailhole/core';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { onTestFinished } from 'vitest';
import { type ChildResult, requireTool, run } from './child.js';

/** The envelope and message every TLS test sends; what matters is how it travels, not what it says. */
export const letter = {
  from: 'sender@client.test',
  to: 'recipient@sink.test',
  subject: 'over TLS',
  text: 'This message should only ever travel encrypted.',
};

/** The same message as raw RFC 5322 text, for clients that upload a file (curl). */
export const letterText = `From: ${letter.from}\r\nTo: ${letter.to}\r\nSubject: ${letter.subject}\r\n\r\n${letter.text}\r\n`;

/** Starts a sink that is closed when the current test finishes, whatever its outcome. */
export async function sinkForTest(options: StartOptions): Promise<Sink> {
  const sink = await startSink(options);
  onTestFinished(() => sink.close());
  return sink;
}

/**
 * A nodemailer transport to `sink`, plaintext unless `options` say otherwise, closed when the current test finishes.
 *
 * @example await transportForTest(sink, { ignoreTLS: true }).sendMail(letter);
 */
export function transportForTest(
  sink: Sink,
  options: SMTPTransport.Options = {},
): Transporter<SMTPTransport.SentMessageInfo> {
  const transport = nodemailer.createTransport({ host: sink.host, port: sink.port, secure: false, ...options });
  onTestFinished(() => transport.close());
  return transport;
}

/** A fresh folder removed when the current test finishes. */
export async function folderForTest(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mailhole-tls-test-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes the sink's CA where command-line clients can read it; the file goes when the test ends. */
export async function caFileForTest(sink: Sink): Promise<string> {
  return sink.writeCa(join(await folderForTest(), 'mailhole-ca.pem'));
}

/** Sends `letter` with nodemailer (one connection, closed after the message). */
export async function sendWithNodemailer(options: SMTPTransport.Options): Promise<SMTPTransport.SentMessageInfo> {
  // Bounded waits: a client stuck in a handshake fails the test with a reason instead of hanging it.
  const transport = nodemailer.createTransport({ connectionTimeout: 10_000, greetingTimeout: 10_000, ...options });
  try {
    return await transport.sendMail(letter);
  } finally {
    transport.close();
  }
}

/** What nodemailer reports when a send fails: its own code and the underlying (TLS) one. */
export interface SendFailure extends Error {
  code?: string;
  /** The socket or TLS error code, e.g. `CERT_HAS_EXPIRED`. */
  originalCode?: string;
  response?: string;
  responseCode?: number;
  command?: string;
}

/** The error nodemailer fails with; the test fails if the message was sent instead. */
export async function nodemailerFailure(options: SMTPTransport.Options): Promise<SendFailure> {
  let info: SMTPTransport.SentMessageInfo;
  try {
    info = await sendWithNodemailer(options);
  } catch (error) {
    return error as SendFailure;
  }
  throw new Error(`expected nodemailer to refuse the server, but it sent the message: ${info.response}`);
}

const CLIENT_TIMEOUT_SECONDS = '15';

/** curl uploading `letterText` to `url` (smtp:// or smtps://) with the extra `options`. */
export function curlSend(url: string, options: readonly string[]): Promise<ChildResult> {
  requireTool('curl', 'apt-get install curl');
  return run(
    'curl',
    [
      '--silent',
      '--show-error',
      '--max-time',
      CLIENT_TIMEOUT_SECONDS,
      ...options,
      '--mail-from',
      letter.from,
      '--mail-rcpt',
      letter.to,
      '--upload-file',
      '-',
      url,
    ],
    // No system or user settings may point curl at other CAs than the test names.
    {
      input: letterText,
      env: { ...process.env, CURL_CA_BUNDLE: '', SSL_CERT_FILE: '', SSL_CERT_DIR: '', CURL_HOME: '/nonexistent' },
    },
  );
}

/** swaks sending its default test message over the given TLS options. */
export function swaksSend(port: number, options: readonly string[]): Promise<ChildResult> {
  requireTool('swaks', 'apt-get install swaks');
  return run('swaks', [
    '--server',
    '127.0.0.1',
    '--port',
    String(port),
    '--from',
    letter.from,
    '--to',
    letter.to,
    '--helo',
    'client.test',
    '--timeout',
    CLIENT_TIMEOUT_SECONDS,
    ...options,
  ]);
}

/** Python's smtplib with a verifying context made from `cafile`: STARTTLS or implicit TLS (SMTP_SSL). */
const PYTHON_SENDER = `
import smtplib, ssl, sys
mode, host, port, cafile, sender, recipient, text = sys.argv[1:8]
context = ssl.create_default_context(cafile=cafile)
if mode == 'starttls':
    client = smtplib.SMTP(host, int(port), local_hostname='client.test', timeout=15)
    client.starttls(context=context)
else:
    client = smtplib.SMTP_SSL(host, int(port), local_hostname='client.test', context=context, timeout=15)
client.sendmail(sender, [recipient], text)
client.quit()
print('sent')
`;

export function pythonSend(
  mode: 'starttls' | 'implicit',
  host: string,
  port: number,
  cafile: string,
): Promise<ChildResult> {
  requireTool('python3', 'apt-get install python3');
  return run('python3', ['-c', PYTHON_SENDER, mode, host, String(port), cafile, letter.from, letter.to, letterText]);
}

/**
 * `openssl s_client` doing STARTTLS with verification errors fatal, then EHLO and QUIT inside TLS.
 * `-ign_eof` keeps it reading after its stdin ends, until the server closes after QUIT.
 */
export function opensslStartTls(port: number, cafile: string, extra: readonly string[] = []): Promise<ChildResult> {
  requireTool('openssl', 'apt-get install openssl');
  return run(
    'openssl',
    [
      's_client',
      '-starttls',
      'smtp',
      '-verify_return_error',
      '-CAfile',
      cafile,
      '-connect',
      `127.0.0.1:${port}`,
      '-ign_eof',
      ...extra,
    ],
    { input: 'EHLO client.test\r\nQUIT\r\n' },
  );
}

/** Resolves with the next `event` the sink emits (e.g. `disconnect`), and unsubscribes. */
export function nextEvent<T = unknown>(sink: Sink, event: string): Promise<T> {
  return new Promise((resolve) => {
    const listener = (value: T): void => {
      sink.off(event, listener);
      resolve(value);
    };
    sink.on(event, listener);
  });
}
