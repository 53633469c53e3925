// The inbox's detail pane: envelope, message (mail HTML only in a sandboxed frame), headers,
// session transcript and raw source of one delivery, in tabs.
import { api, type Row, showError } from './client.js';
import { $, el } from './dom.js';
import {
  type AttachmentJson,
  base64Bytes,
  downloadName,
  formatSize,
  hasRemoteContent,
  messageDocument,
} from './format.js';

interface Delivery {
  id: string;
  seq: number;
  accepted: boolean;
  sender: string;
  recipients: string[];
  rejectedRecipients: Array<{ address: string; reply: { code: number; enhanced?: string; text: string } }>;
  size: number;
  reply: { code: number; enhanced?: string; text: string };
  via: string;
  helo?: string;
  tls?: { protocol: string; cipher: string; mode: string; servername?: string };
  user?: string;
  client: { address: string; port: number };
  connectionId: number;
  time: number;
  faults: Array<{ rule: string; stage: string; action: string }>;
  headers?: Record<string, string[]>;
  subject?: string;
}

interface Parsed {
  headers: Record<string, string[]>;
  subject?: string;
  from: Array<{ address: string; name: string }>;
  to: Array<{ address: string; name: string }>;
  cc: Array<{ address: string; name: string }>;
  bcc: string[];
  text?: string;
  html?: string;
  attachments: AttachmentJson[];
}

interface Transcript {
  connectionId: number;
  client: { address: string; port: number };
  listener: string;
  startedAt: number;
  endedAt?: number;
  tls?: { protocol: string; cipher: string; mode: string; servername?: string };
  auth?: { mechanism: string; user: string };
  head: Entry[];
  omitted: number;
  tail: Entry[];
}

interface Entry {
  at: number;
  from: 'client' | 'server' | 'note';
  text: string;
  decidedBy?: string;
}

const remoteAllowed = new Set<string>();
let shown: { row: Row; delivery: Delivery; parsed: Parsed | undefined } | undefined;

const TABS = ['message', 'headers', 'session', 'raw'] as const;
type Tab = (typeof TABS)[number];
let tab: Tab = 'message';

for (const name of TABS) {
  const button = $(`tab-${name}`);
  button.addEventListener('click', () => showTab(name, true));
  button.addEventListener('keydown', (event) => {
    const i = TABS.indexOf(name);
    const next = event.key === 'ArrowRight' ? i + 1 : event.key === 'ArrowLeft' ? i - 1 : undefined;
    if (next === undefined) return;
    event.preventDefault();
    showTab(TABS[(next + TABS.length) % TABS.length] as Tab, true);
  });
}

function showTab(name: Tab, focus: boolean): void {
  tab = name;
  for (const other of TABS) {
    const button = $(`tab-${other}`);
    const active = other === name;
    button.setAttribute('aria-selected', active ? 'true' : 'false');
    button.tabIndex = active ? 0 : -1;
    $(`panel-${other}`).hidden = !active;
  }
  if (focus) $(`tab-${name}`).focus();
  if (name === 'session' && shown !== undefined) void showSession(shown.delivery);
}

/** Shows a delivery in the detail pane, unless another row was selected while it loaded (`stillSelected`). */
export async function showDelivery(row: Row, stillSelected: (id: string) => boolean): Promise<void> {
  const detail = $('detail');
  detail.hidden = false;
  $('detail-subject').textContent = row.subject ?? '(no subject kept)';
  let delivery: Delivery;
  try {
    delivery = (await api<{ delivery: Delivery }>(`/api/deliveries/${encodeURIComponent(row.id)}`)).delivery;
  } catch (error) {
    showError(error);
    return;
  }
  let parsed: Parsed | undefined;
  let contentNote = '';
  try {
    parsed = (await api<{ parsed: Parsed }>(`/api/messages/${encodeURIComponent(row.id)}`)).parsed;
  } catch (error) {
    contentNote = (error as Error).message;
  }
  if (!stillSelected(row.id)) return;
  shown = { row, delivery, parsed };
  showEnvelope(delivery, parsed);
  showMessage(delivery, parsed, contentNote);
  showHeaders(delivery, parsed);
  showRaw(delivery, parsed !== undefined, contentNote);
  if (tab === 'session') void showSession(delivery);
}

function pairs(entries: Array<[string, string | undefined]>): HTMLElement {
  const dl = el('dl', { class: 'pairs' });
  for (const [key, value] of entries) {
    if (value === undefined || value === '') continue;
    dl.append(el('dt', { text: key }), el('dd', { text: value }));
  }
  return dl;
}

function replyText(reply: { code: number; enhanced?: string; text: string }): string {
  return `${reply.code}${reply.enhanced ? ` ${reply.enhanced}` : ''} ${reply.text}`;
}

function bccOf(delivery: Delivery, parsed: Parsed | undefined): string[] {
  if (parsed !== undefined) return parsed.bcc;
  const headers = delivery.headers;
  if (headers === undefined) return [];
  const named = [...(headers.to ?? []), ...(headers.cc ?? [])].join(',').toLowerCase();
  return delivery.recipients.filter((address) => !named.includes(address.toLowerCase()));
}

function showEnvelope(delivery: Delivery, parsed: Parsed | undefined): void {
  const bcc = bccOf(delivery, parsed);
  const tls = delivery.tls;
  $('envelope').replaceChildren(
    pairs([
      ['Outcome', replyText(delivery.reply)],
      ['MAIL FROM', delivery.sender || '<> (null sender)'],
      ['RCPT TO', delivery.recipients.join(', ') || '(none accepted)'],
      ['Bcc (envelope only)', bcc.join(', ') || undefined],
      [
        'Refused at RCPT',
        delivery.rejectedRecipients.map((r) => `${r.address}: ${replyText(r.reply)}`).join('; ') || undefined,
      ],
      ['Size', `${formatSize(delivery.size)} via ${delivery.via}`],
      ['Time', new Date(delivery.time).toISOString()],
      ['Client', `${delivery.client.address}:${delivery.client.port} (HELO ${delivery.helo ?? '—'})`],
      [
        'TLS',
        tls ? `${tls.protocol}, ${tls.cipher} (${tls.mode}${tls.servername ? `, SNI ${tls.servername}` : ''})` : 'none',
      ],
      ['AUTH user', delivery.user],
      ['Faults', delivery.faults.map((f) => `${f.rule} at ${f.stage}: ${f.action}`).join('; ') || undefined],
      ['Id', delivery.id],
    ]),
  );
}

function showMessage(delivery: Delivery, parsed: Parsed | undefined, note: string): void {
  const panel = $('panel-message');
  if (parsed === undefined) {
    panel.replaceChildren(
      el('p', {
        class: 'note',
        text: `The content of this message is not kept: ${note || 'capture is not "full"'}. Start the sink with capture "full" (mailhole serve --capture full) to read bodies and attachments.`,
      }),
    );
    return;
  }
  const parts: HTMLElement[] = [];
  const names = (list: Array<{ address: string; name: string }>) =>
    list.map((a) => (a.name ? `${a.name} <${a.address}>` : a.address)).join(', ');
  parts.push(
    pairs([
      ['From', names(parsed.from)],
      ['To', names(parsed.to)],
      ['Cc', names(parsed.cc)],
    ]),
  );
  if (parsed.attachments.length > 0) {
    const items = parsed.attachments.map((a, i) => {
      const name = downloadName(a.filename, `attachment-${i + 1}`);
      const button = el('button', {
        type: 'button',
        class: 'download',
        text: `${name} (${a.contentType}, ${formatSize(a.size)})`,
        'aria-label': `Download attachment ${name}`,
      });
      button.addEventListener('click', () =>
        download(new Blob([base64Bytes(a.content) as BlobPart], { type: a.contentType }), name),
      );
      return el('li', {}, button);
    });
    parts.push(el('h3', { text: 'Attachments' }), el('ul', { class: 'attachments' }, ...items));
  }
  if (parsed.html !== undefined) {
    const allow = remoteAllowed.has(delivery.id);
    const remote = hasRemoteContent(parsed.html);
    parts.push(el('h3', { text: 'HTML body' }));
    if (remote && !allow) {
      const button = el('button', { type: 'button', id: 'allow-remote', text: 'Load remote content for this message' });
      button.addEventListener('click', () => {
        remoteAllowed.add(delivery.id);
        showMessage(delivery, parsed, note);
      });
      parts.push(el('p', { class: 'note' }, 'Remote images and styles are blocked. ', button));
    }
    const frame = el('iframe', {
      id: 'html-frame',
      title: 'HTML body of the message (sandboxed: no scripts)',
      sandbox: 'allow-popups allow-popups-to-escape-sandbox',
      referrerpolicy: 'no-referrer',
      class: 'html-frame',
    });
    frame.srcdoc = messageDocument(parsed.html, { allowRemote: allow, attachments: parsed.attachments });
    parts.push(frame);
  }
  if (parsed.text !== undefined)
    parts.push(el('h3', { text: 'Text body' }), el('pre', { class: 'text-body', text: parsed.text }));
  panel.replaceChildren(...parts);
}

function showHeaders(delivery: Delivery, parsed: Parsed | undefined): void {
  const headers = parsed?.headers ?? delivery.headers;
  const panel = $('panel-headers');
  if (headers === undefined) {
    panel.replaceChildren(el('p', { class: 'note', text: 'No header section was kept for this delivery.' }));
    return;
  }
  const table = el('table', { class: 'headers' }, el('caption', { text: 'Header fields (decoded where encoded)' }));
  const body = el('tbody');
  for (const [name, values] of Object.entries(headers)) {
    for (const value of values)
      body.append(el('tr', {}, el('th', { scope: 'row', text: name }), el('td', { text: decodeWords(value) })));
  }
  table.append(body);
  panel.replaceChildren(table);
}

/** RFC 2047 encoded words, as the page shows header values. */
function decodeWords(value: string): string {
  return value.replace(
    /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g,
    (whole, charset: string, encoding: string, text: string) => {
      try {
        const bytes =
          encoding.toUpperCase() === 'B'
            ? base64Bytes(text)
            : Uint8Array.from(
                text
                  .replace(/_/g, ' ')
                  .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
                (c) => c.charCodeAt(0),
              );
        return new TextDecoder(charset).decode(bytes);
      } catch {
        return whole;
      }
    },
  );
}

function showRaw(delivery: Delivery, kept: boolean, note: string): void {
  const panel = $('panel-raw');
  if (!kept) {
    panel.replaceChildren(
      el('p', { class: 'note', text: `The raw message is not kept: ${note || 'capture is not "full"'}.` }),
    );
    return;
  }
  const button = el('button', { type: 'button', id: 'download-eml', text: 'Download .eml' });
  const pre = el('pre', { class: 'raw', text: 'Loading…' });
  button.addEventListener('click', async () => {
    try {
      download(
        await api<Blob>(`/api/messages/${encodeURIComponent(delivery.id)}/raw`),
        `${downloadName(delivery.id, 'message')}.eml`,
      );
    } catch (error) {
      showError(error);
    }
  });
  panel.replaceChildren(button, pre);
  void api<Blob>(`/api/messages/${encodeURIComponent(delivery.id)}/raw`).then(
    async (blob) => {
      const limit = 64 * 1024;
      const text = await blob.slice(0, limit).text();
      pre.textContent =
        blob.size > limit ? `${text}\n… (${formatSize(blob.size)} in all: download the .eml for the rest)` : text;
    },
    (error: unknown) => {
      pre.textContent = (error as Error).message;
    },
  );
}

function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function showSession(delivery: Delivery): Promise<void> {
  const panel = $('panel-session');
  let transcript: Transcript;
  try {
    transcript = await api<Transcript>(`/api/sessions/${delivery.connectionId}`);
  } catch (error) {
    panel.replaceChildren(el('p', { class: 'note', text: (error as Error).message }));
    return;
  }
  const tls = transcript.tls;
  const summary = pairs([
    [
      'Connection',
      `#${transcript.connectionId} from ${transcript.client.address}:${transcript.client.port} on ${transcript.listener}`,
    ],
    [
      'TLS',
      tls
        ? `${tls.protocol}, cipher ${tls.cipher}, ${tls.servername ? `SNI ${tls.servername}` : 'no SNI'} (${tls.mode})`
        : 'none',
    ],
    ['AUTH', transcript.auth ? `${transcript.auth.mechanism} as ${transcript.auth.user}` : 'none'],
    ['Ended', transcript.endedAt ? new Date(transcript.endedAt).toISOString() : 'still open'],
  ]);
  const lines = el('ol', { class: 'transcript', 'aria-label': 'Commands and replies of the session' });
  const add = (entry: Entry) => {
    const prefix = entry.from === 'client' ? 'C: ' : entry.from === 'server' ? 'S: ' : '— ';
    const mine = entry.from === 'server' && entry.text.includes(delivery.id);
    const item = el('li', { class: `line ${entry.from}${mine ? ' this-delivery' : ''}` });
    item.append(
      el('span', { class: 'prefix', text: prefix, 'aria-hidden': 'true' }),
      el('span', { class: 'text', text: entry.text }),
    );
    if (entry.from !== 'note')
      item.prepend(el('span', { class: 'visually-hidden', text: entry.from === 'client' ? 'client: ' : 'server: ' }));
    if (entry.decidedBy !== undefined)
      item.append(el('span', { class: 'decided', text: `decided by ${entry.decidedBy}` }));
    lines.append(item);
  };
  transcript.head.forEach(add);
  if (transcript.omitted > 0) {
    lines.append(
      el('li', {
        class: 'line note omitted',
        text: `… ${transcript.omitted} lines dropped to stay within transcripts.maxBytes …`,
      }),
    );
  }
  transcript.tail.forEach(add);
  panel.replaceChildren(summary, lines);
}
