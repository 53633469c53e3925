// The web inbox in a real browser: Debian's Chromium driven by playwright-core (Playwright cannot
// download its own browser here). One browser for the file, a fresh context (cookies, storage,
// downloads) per test.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Sink, startSink } from '@mailhole/core';
import nodemailer from 'nodemailer';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { spawnServe, stopServers } from '../control-serve.js';

const CHROMIUM = process.env.MAILHOLE_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = fileURLToPath(new URL('../../../../docs/inbox.png', import.meta.url));
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (node scripts/ensure-clients.mjs does) or set MAILHOLE_CHROMIUM`,
    );
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  await stopServers();
});

afterAll(() => browser?.close());

async function open(url: string, options: { colorScheme?: 'light' | 'dark' } = {}): Promise<Page> {
  const context = await browser.newContext({
    acceptDownloads: true,
    viewport: { width: 1360, height: 820 },
    colorScheme: options.colorScheme ?? 'light',
  });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(url);
  await page.locator('#live.on').waitFor();
  return page;
}

async function inboxSink(options: Parameters<typeof startSink>[0] = {}): Promise<Sink> {
  const sink = await startSink({ api: true, capture: 'full', tls: 'starttls', ...options });
  onTestFinished(() => sink.close());
  return sink;
}

function transport(sink: Sink) {
  const t = nodemailer.createTransport({ host: sink.host, port: sink.port, requireTLS: true, tls: sink.clientTls() });
  onTestFinished(() => t.close());
  return t;
}

/** A web server standing for the internet: it records every request the mail's HTML makes. */
async function tracker(): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(200, { 'Content-Type': 'image/gif' });
    res.end(Buffer.from('R0lGODlhAQABAAAAACw=', 'base64'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

// A real browser on a shared machine: generous limits, never asserted timings.
describe('the web inbox in Chromium', { timeout: 60_000 }, () => {
  it('shows a message sent by nodemailer live, without a reload', async () => {
    const sink = await inboxSink();
    const page = await open(sink.inboxUrl as string);
    await expect(page.locator('#empty').isVisible()).resolves.toBe(true);
    await transport(sink).sendMail({ from: 'ada@test', to: 'bob@test', subject: 'Live from nodemailer', text: 'hi' });
    const row = page.locator('[role="option"]', { hasText: 'Live from nodemailer' });
    await row.waitFor();
    expect(await row.textContent()).toContain('ada@test → bob@test');
    await expect(page.locator('[data-counter="accepted"] dd').textContent()).resolves.toBe('1');
  });

  it('never runs a script of the HTML body, and loads remote images only when allowed for that message', async () => {
    const sink = await inboxSink();
    const web = await tracker();
    const page = await open(sink.inboxUrl as string);
    const messages: unknown[] = [];
    await page.exposeFunction('recordMessage', (data: unknown) => messages.push(data));
    await page.evaluate(() => {
      window.addEventListener('message', (event) =>
        (window as unknown as { recordMessage(d: unknown): void }).recordMessage(event.data),
      );
    });
    const html = [
      '<p id="hello">Hello <b>HTML</b></p>',
      `<script>parent.postMessage('script ran', '*'); parent.document.title = 'pwned'; new Image().src = '${web.url}/script-ran';</script>`,
      `<img src="x" onerror="parent.postMessage('handler ran', '*'); new Image().src = '${web.url}/handler-ran'">`,
      `<img src="${web.url}/remote.gif" alt="remote">`,
    ].join('');
    await transport(sink).sendMail({ from: 'ada@test', to: 'bob@test', subject: 'Hostile HTML', html });
    await page.locator('[role="option"]', { hasText: 'Hostile HTML' }).click();
    const frame = page.frameLocator('#html-frame');
    await frame.locator('#hello').waitFor();
    // The frame rendered; give a script a moment it would need, then look for any of its effects.
    await page.waitForTimeout(300);
    expect(messages).toEqual([]);
    expect(await page.title()).toBe('mailhole inbox');
    expect(web.hits).toEqual([]);
    expect(await page.locator('#html-frame').getAttribute('sandbox')).not.toContain('allow-scripts');

    await page.locator('#allow-remote').click();
    await frame.locator('#hello').waitFor();
    await expect.poll(() => web.hits, { timeout: 5000 }).toEqual(['/remote.gif']);
    await page.waitForTimeout(300);
    expect(messages).toEqual([]);
    expect(web.hits).toEqual(['/remote.gif']);
  });

  it('downloads attachments and the raw .eml with the exact bytes', async () => {
    const sink = await inboxSink();
    const page = await open(sink.inboxUrl as string);
    const bytes = randomBytes(4096);
    await transport(sink).sendMail({
      from: 'ada@test',
      to: 'bob@test',
      subject: 'With attachment',
      text: 'see attached',
      attachments: [{ filename: 'data.bin', content: bytes, contentType: 'application/octet-stream' }],
    });
    const [record] = await sink.waitFor(1);
    await page.locator('[role="option"]', { hasText: 'With attachment' }).click();
    const [attachment] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download attachment data.bin' }).click(),
    ]);
    expect(attachment.suggestedFilename()).toBe('data.bin');
    expect(readFileSync(await attachment.path())).toEqual(bytes);

    await page.getByRole('tab', { name: 'Raw' }).click();
    const [eml] = await Promise.all([page.waitForEvent('download'), page.locator('#download-eml').click()]);
    expect(eml.suggestedFilename()).toBe(`${record?.id}.eml`);
    expect(readFileSync(await eml.path())).toEqual(sink.message(record?.id as string)?.raw);
  });

  it('adds a fault rule from the page: the next RCPT bounces', async () => {
    const sink = await inboxSink();
    const page = await open(sink.inboxUrl as string);
    await page.locator('#fault-stage').selectOption('rcpt');
    await page.locator('#fault-action').fill('550 5.1.1 No such user here');
    await page.locator('#fault-times').fill('1');
    await page.getByRole('button', { name: 'Add fault rule' }).click();
    await page.locator('#fault-list', { hasText: 'at rcpt → 550 5.1.1 No such user here (1 left)' }).waitFor();
    expect(sink.faults.list()).toHaveLength(1);
    await expect(
      transport(sink).sendMail({ from: 'ada@test', to: 'bob@test', subject: 'refused', text: 'x' }),
    ).rejects.toThrow(/550 5\.1\.1 No such user here/);
    // times: 1 spent: the next one goes through.
    await transport(sink).sendMail({ from: 'ada@test', to: 'bob@test', subject: 'after the fault', text: 'x' });
    expect(sink.accepted).toBe(1);
  });

  it('shows the session transcript with the STARTTLS upgrade, TLS version, cipher and SNI', async () => {
    const sink = await inboxSink();
    const page = await open(sink.inboxUrl as string);
    await transport(sink).sendMail({ from: 'ada@test', to: 'bob@test', subject: 'Over STARTTLS', text: 'x' });
    await page.locator('[role="option"]', { hasText: 'Over STARTTLS' }).click();
    await page.getByRole('tab', { name: 'Session' }).click();
    const transcript = page.locator('.transcript');
    await transcript.waitFor();
    const lines = await transcript.locator('li').allTextContents();
    const starttls = lines.findIndex((l) => l.includes('C: STARTTLS'));
    const ready = lines.findIndex((l) => /S: 220 2\.0\.0/.test(l));
    const upgraded = lines.findIndex((l) => /TLS established \(starttls\): TLSv1\.[23], \S+, SNI localhost/.test(l));
    expect(starttls).toBeGreaterThan(0);
    expect(ready).toBe(starttls + 1);
    expect(upgraded).toBe(ready + 1);
    expect(lines[upgraded + 1]).toMatch(/C: EHLO/);
    expect(await page.locator('#panel-session').textContent()).toMatch(/TLSv1\.[23], cipher TLS_/);
  });

  it('is usable from the keyboard and has no serious accessibility violations, light or dark', async () => {
    const sink = await inboxSink();
    const mail = transport(sink);
    // One of each outcome, oldest first: bounced (5xx), deferred (4xx), then three accepted.
    sink.faults.add({ stage: 'message', match: { recipient: 'carol@test' }, action: '554 5.7.1 Refused by policy' });
    sink.faults.add({ stage: 'message', match: { recipient: 'dave@test' }, action: '451 4.7.1 Try again later' });
    await mail
      .sendMail({ from: 'app@shop.test', to: 'carol@test', subject: 'Quarterly report', text: 'x' })
      .catch(() => undefined);
    await mail
      .sendMail({ from: 'app@shop.test', to: 'dave@test', subject: 'Shipping update', text: 'x' })
      .catch(() => undefined);
    for (const [i, subject] of ['Welcome aboard', 'Your invoice', 'Password reset'].entries()) {
      await mail.sendMail({
        from: 'app@shop.test',
        to: `user${i}@test`,
        bcc: i === 2 ? 'audit@shop.test' : [],
        subject,
        text: `Message ${i}`,
        html: `<h1>${subject}</h1><p>Hello user ${i}, this is the HTML body.</p>`,
      });
    }
    for (const scheme of ['light', 'dark'] as const) {
      const page = await open(sink.inboxUrl as string, { colorScheme: scheme });
      await page.locator('[role="option"]').first().waitFor();
      // Tab from the top: skip link, then into the page; "/" jumps to the search box.
      await page.keyboard.press('/');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('search');
      await page.locator('#list').focus();
      await page.keyboard.press('ArrowDown');
      await page.locator('#detail-subject', { hasText: 'Your invoice' }).waitFor();
      await page.keyboard.press('Home');
      await page.locator('#detail-subject', { hasText: 'Password reset' }).waitFor();
      await page.frameLocator('#html-frame').locator('h1').waitFor();
      if (scheme === 'light' && process.env.MAILHOLE_UPDATE_SCREENSHOT === '1') {
        mkdirSync(dirname(SCREENSHOT), { recursive: true });
        await page.screenshot({ path: SCREENSHOT });
      }
      await page.evaluate(AXE);
      const violations = await page.evaluate(async () => {
        const axe = (
          window as unknown as {
            axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> };
          }
        ).axe;
        const result = await axe.run();
        return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
      });
      expect(
        violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'),
        scheme,
      ).toEqual([]);
    }
  });
});

describe('the web inbox with an API token', { timeout: 60_000 }, () => {
  it('opens with the token in the fragment, and asks for it without', async () => {
    const sink = await startSink({ api: { token: 'browser-token' }, capture: 'full' });
    onTestFinished(() => sink.close());
    const transport = nodemailer.createTransport({ host: sink.host, port: sink.port });
    onTestFinished(() => transport.close());
    await transport.sendMail({ from: 'ada@test', to: 'bob@test', subject: 'Behind a token', text: 'x' });

    const context = await browser.newContext();
    contexts.push(context);
    const asked = await context.newPage();
    await asked.goto(sink.inboxUrl as string);
    await asked.getByRole('dialog', { name: 'API token' }).waitFor();
    await asked.getByLabel('Token', { exact: true }).fill('browser-token');
    await asked.getByRole('button', { name: 'Open the inbox' }).click();
    await asked.locator('[role="option"]', { hasText: 'Behind a token' }).waitFor();
    await asked.locator('#live.on').waitFor();

    const page = await open(`${sink.inboxUrl}#token=browser-token`);
    await page.locator('[role="option"]', { hasText: 'Behind a token' }).waitFor();
    // The token left the address bar (and so the history) at once.
    expect(new URL(page.url()).hash).toBe('');
  });
});

describe('mailhole serve and the printed inbox URL', { timeout: 60_000 }, () => {
  it('shows a delivery sent with swaks', async () => {
    const server = await spawnServe(['--port', '0', '--api-port', '0', '--capture', 'full']);
    const printed = (server.listening as unknown as { inbox?: string }).inbox;
    expect(printed).toBe(`${server.api}/`);
    const page = await open(printed as string);
    await promisify(execFile)('swaks', [
      '--server',
      `127.0.0.1:${server.port}`,
      '--from',
      'ci@test',
      '--to',
      'dev@test',
      '--header',
      'Subject: swaks says hi',
      '--body',
      'from swaks',
    ]);
    await page.locator('[role="option"]', { hasText: 'swaks says hi' }).waitFor({ timeout: 5000 });
    await server.stop();
  });
});
