import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectSink } from '@mailhole/core';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnServe, stopServers } from '../packages/core/test/control-serve.js';
import { sinkForTest } from './support/tls-clients.js';

// Real-world rejections reached from outside the process: the control API, the remote client,
// `mailhole serve` flags and its config file. Each is checked by the reply nodemailer saw.

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await stopServers();
});

const letter = { from: 'app@sender.test', to: 'someone@gone.test', subject: 'rejection', text: 'Hello.' };

/** The reply line nodemailer saw for a refused send (or for its refused recipients), or `accepted`. */
async function outcome(port: number, mail: Mail.Options = {}): Promise<string> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  cleanups.push(() => transport.close());
  try {
    const info = await transport.sendMail({ ...letter, ...mail });
    const rejected = info.rejectedErrors?.map((e) => (e as { response?: string }).response);
    return rejected?.length ? `accepted, refused: ${rejected.join(' | ')}` : 'accepted';
  } catch (error) {
    return (error as { response?: string }).response ?? String(error);
  }
}

async function post(base: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${base}/api/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('rejection presets over the control API', () => {
  it('POST /api/faults with a preset name as the action takes the preset stage', async () => {
    const sink = await sinkForTest({ api: true });

    const added = await post(sink.apiUrl as string, {
      action: 'microsoft.unknownUser',
      match: { recipient: '*@gone.test' },
    });
    const seen = await outcome(sink.port, { to: ['someone@gone.test', 'someone@here.test'] });

    expect(added.status).toBe(201);
    expect(added.json.fault).toMatchObject({
      stage: 'rcpt',
      action: { type: 'preset', preset: 'microsoft.unknownUser' },
    });
    expect(seen).toBe('accepted, refused: 550 5.1.10 Recipient not found');
  });

  it('POST /api/faults with a blocklist action answers with the Postfix reply', async () => {
    const sink = await sinkForTest({ api: true });

    const added = await post(sink.apiUrl as string, {
      action: {
        type: 'blocklist',
        list: 'zen.spamhaus.org',
        listed: ['127.0.0.1'],
        reason: 'see https://check.spamhaus.org',
      },
    });
    const seen = await outcome(sink.port);

    expect(added.json.fault).toMatchObject({
      stage: 'rcpt',
      action: {
        type: 'blocklist',
        restriction: 'reject_rbl_client',
        list: 'zen.spamhaus.org',
        code: 554,
        listed: ['127.0.0.1'],
      },
    });
    expect(seen).toBe(
      '554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org; see https://check.spamhaus.org',
    );
  });

  it('a blocklist that cannot work gets 400 naming the field', async () => {
    const sink = await sinkForTest({ api: true });

    const added = await post(sink.apiUrl as string, {
      stage: 'connect',
      action: { type: 'blocklist', restriction: 'reject_rhsbl_recipient', list: 'x.test', listed: 'all' },
    });

    expect(added.status).toBe(400);
    expect(JSON.stringify(added.json)).toMatch(/"stage\\" must be one of rcpt for reject_rhsbl_recipient/);
  });

  it('the remote client has the same short forms as sink.faults', async () => {
    const sink = await sinkForTest({ api: true });
    const remote = await connectSink(sink.apiUrl as string);

    await remote.faults.preset('gmail.overQuota', { recipient: 'full@gone.test' });
    await remote.faults.blocklist(
      { restriction: 'reject_rhsbl_sender', list: 'dbl.spamhaus.org', listed: 'spam.test' },
      { stage: 'mail' },
    );
    const full = await outcome(sink.port, { to: 'full@gone.test' });
    const spam = await outcome(sink.port, { from: 'bulk@spam.test' });

    expect(full).toBe(
      "552 5.2.2 The recipient's inbox is out of storage space and inactive. Please direct the recipient to Manage files in your Google Drive storage. - gsmtp",
    );
    expect(spam).toBe('554 5.7.1 Service unavailable; Sender address [bulk@spam.test] blocked using dbl.spamhaus.org');
  });
});

describe('rejection presets from mailhole serve', () => {
  it('--fault takes a preset with a recipient pattern and a blocklist short form', async () => {
    const server = await spawnServe([
      '--port',
      '0',
      '--api-port',
      '0',
      '--fault',
      'gmail.unknownUser:*@gone.test',
      '--fault',
      'rhsbl-sender:dbl.spamhaus.org:spam.test,junk.test',
    ]);

    const gone = await outcome(server.port, { to: ['someone@gone.test', 'someone@here.test'] });
    const junk = await outcome(server.port, { from: 'a@mail.junk.test', to: 'someone@here.test' });
    const clean = await outcome(server.port, { to: 'someone@here.test' });

    expect(gone).toBe(
      "accepted, refused: 550 5.1.1 The email account that you tried to reach does not exist. Please double-check the recipient's email address for typos or unnecessary spaces. For more information, go to Fix bounced or rejected emails. - gsmtp",
    );
    expect(junk).toBe(
      '554 5.7.1 Service unavailable; Sender address [a@mail.junk.test] blocked using dbl.spamhaus.org',
    );
    expect(clean).toBe('accepted');
  });

  it('--config takes "rejections" and preset short forms in "faults"', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mailhole-rejections-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const config = join(dir, 'mailhole.json');
    await writeFile(
      config,
      JSON.stringify({
        rejections: [{ list: 'b1.spamcop.net', listed: ['127.0.0.0/8'], stage: 'mail' }],
        faults: ['yahoo.unknownUser'],
      }),
    );
    const server = await spawnServe(['--port', '0', '--api-port', '0', '--config', config]);
    const remote = await connectSink(server.api);

    const seen = await outcome(server.port);
    const rules = await remote.faults.list();

    expect(seen).toBe('554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using b1.spamcop.net');
    expect(rules.map((r) => [r.name, r.stage])).toEqual([
      ['fault-1', 'message'],
      ['reject_rbl_client:b1.spamcop.net', 'mail'],
    ]);
  });

  it('a --fault naming no preset fails with the forms listed', async () => {
    const started = spawnServe(['--port', '0', '--api-port', '0', '--fault', 'gmail.nope']);

    await expect(started).rejects.toThrow(/"gmail\.nope" is not a fault rule; the forms are .*PRESET\[:RECIPIENT\]/);
  });
});
