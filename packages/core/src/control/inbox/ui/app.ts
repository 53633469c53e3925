// The mailhole web inbox: a live, paged list of deliveries and the session behind each one.
// No framework: the page is a list, a detail pane and a few forms, and every piece of mail
// content is put into the DOM as text (textContent), never as markup; mail HTML goes only into
// a sandboxed frame (see messageDocument).
import {
  type AttachmentJson,
  base64Bytes,
  describeAction,
  describeRule,
  downloadName,
  EventStreamParser,
  formatSize,
  formatTime,
  hasRemoteContent,
  messageDocument,
  tokenFromHash,
} from './format.js';

interface Row {
  seq: number;
  id: string;
  time: number;
  from: string;
  to: string[];
  subject?: string;
  size: number;
  outcome: 'accepted' | 'deferred' | 'bounced';
  reply: string;
  connectionId: number;
  refused: number;
}

interface Page {
  total: number;
  offset: number;
  items: Row[];
  stats: Record<string, number>;
}

interface Info {
  url: string;
  apiUrl: string;
  workers: number;
  options: { capture: 'count' | 'envelope' | 'full'; mode: string; acceptRatio: number; tls: string };
}

/** Row height in pixels: the list is virtual, rows are placed by position. */
const ROW = 58;
const PAGE = 100;
/** Pages of rows kept in memory at most: the page's memory stays bounded whatever the sink holds. */
const MAX_PAGES = 12;
const TOKEN_KEY = 'mailhole-inbox-token';

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`inbox: element #${id} is missing`);
  return element as T;
};

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: Array<Node | string | undefined>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== undefined) node.append(child);
  return node;
}

// --- talking to the API ---------------------------------------------------------------------

const fromHash = tokenFromHash(location.hash);
if (fromHash !== undefined) {
  sessionStorage.setItem(TOKEN_KEY, fromHash);
  history.replaceState(null, '', location.pathname + location.search);
}
let token = sessionStorage.getItem(TOKEN_KEY) ?? undefined;

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('Authorization', `Bearer ${token}`);
  const response = await fetch(path, { ...init, headers, cache: 'no-store' });
  if (response.status === 401) {
    askToken();
    throw new ApiError(401, 'this sink needs its API token');
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = ((await response.json()) as { error?: string }).error ?? message;
    } catch {
      // not JSON: the status line says it
    }
    throw new ApiError(response.status, message);
  }
  const type = response.headers.get('content-type') ?? '';
  return (type.includes('json') ? await response.json() : await response.blob()) as T;
}

const post = <T>(path: string, body?: unknown, method = 'POST'): Promise<T> =>
  api<T>(path, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });

function askToken(): void {
  const dialog = $<HTMLDialogElement>('token-dialog');
  if (!dialog.open) dialog.showModal();
}

$<HTMLFormElement>('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = $<HTMLInputElement>('token-input').value.trim();
  if (value === '') return;
  token = value;
  sessionStorage.setItem(TOKEN_KEY, value);
  $<HTMLDialogElement>('token-dialog').close();
  void start();
});

function announce(text: string): void {
  $('status').textContent = text;
}

function showError(error: unknown): void {
  if (error instanceof ApiError && error.status === 401) return;
  announce(`Error: ${(error as Error).message}`);
}

// --- counters -------------------------------------------------------------------------------

const COUNTERS: Array<[string, string]> = [
  ['accepted', 'accepted'],
  ['rejected', 'rejected'],
  ['transactions', 'transactions'],
  ['recipientsAccepted', 'recipients'],
  ['recipientsRejected', 'recipients refused'],
  ['connections', 'connections'],
  ['activeConnections', 'open now'],
  ['faults', 'faults fired'],
];

function showStats(stats: Record<string, number>): void {
  const list = $('counters');
  list.replaceChildren(
    ...COUNTERS.map(([key, label]) =>
      el(
        'div',
        { class: 'counter', 'data-counter': key },
        el('dt', { text: label }),
        el('dd', { text: String(stats[key] ?? 0) }),
      ),
    ),
  );
}

// --- the virtual list -----------------------------------------------------------------------

const list = {
  total: 0,
  pages: new Map<number, Row[]>(),
  loading: new Set<number>(),
  generation: 0,
  selected: -1,
  selectedId: undefined as string | undefined,
};

function query(): URLSearchParams {
  const params = new URLSearchParams();
  const q = $<HTMLInputElement>('search').value.trim();
  const outcome = $<HTMLSelectElement>('outcome').value;
  if (q !== '') params.set('q', q);
  if (outcome !== '') params.set('outcome', outcome);
  return params;
}

async function loadPage(index: number, fresh = false): Promise<void> {
  if (list.loading.has(index)) return;
  list.loading.add(index);
  const generation = list.generation;
  const params = query();
  params.set('offset', String(index * PAGE));
  params.set('limit', String(PAGE));
  try {
    const page = await api<Page>(`/api/inbox/deliveries?${params}`);
    if (generation !== list.generation) return;
    list.total = page.total;
    // A fresh load replaces every kept page at once: the rows in view never blink out meanwhile.
    if (fresh) list.pages.clear();
    list.pages.set(index, page.items);
    // New mail above moves the selected row down: keep the keyboard position on it.
    const at = page.items.findIndex((row) => row.id === list.selectedId);
    if (at >= 0) list.selected = index * PAGE + at;
    while (list.pages.size > MAX_PAGES) list.pages.delete(list.pages.keys().next().value as number);
    showStats(page.stats);
    render();
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) showCountOnly(error.message);
    else showError(error);
  } finally {
    list.loading.delete(index);
  }
}

/** Forgets the loaded rows (filters changed, mail arrived) and loads what is in view again. */
function reload(): void {
  list.generation++;
  list.loading.clear();
  const viewport = $('list');
  void loadPage(Math.floor(viewport.scrollTop / ROW / PAGE), true);
}

function rowAt(index: number): Row | undefined {
  return list.pages.get(Math.floor(index / PAGE))?.[index % PAGE];
}

function render(): void {
  const viewport = $('list');
  const spacer = $('list-spacer');
  spacer.style.height = `${list.total * ROW}px`;
  const first = Math.max(0, Math.floor(viewport.scrollTop / ROW) - 3);
  const last = Math.min(list.total, first + Math.ceil(viewport.clientHeight / ROW) + 6);
  const rows: HTMLElement[] = [];
  for (let i = first; i < last; i++) {
    const row = rowAt(i);
    if (row === undefined) {
      void loadPage(Math.floor(i / PAGE));
      continue;
    }
    rows.push(rowElement(row, i));
  }
  spacer.replaceChildren(...rows);
  $('empty').hidden = list.total > 0 || $('list-panel').dataset.countOnly === 'true';
  const active = rowAt(list.selected);
  if (active !== undefined) viewport.setAttribute('aria-activedescendant', `row-${active.seq}`);
  else viewport.removeAttribute('aria-activedescendant');
}

function rowElement(row: Row, index: number): HTMLElement {
  const selected = row.id === list.selectedId;
  const item = el(
    'div',
    {
      id: `row-${row.seq}`,
      role: 'option',
      class: `row outcome-${row.outcome}${selected ? ' selected' : ''}`,
      'aria-selected': selected ? 'true' : 'false',
      'aria-posinset': String(index + 1),
      'aria-setsize': String(list.total),
      'data-id': row.id,
    },
    el(
      'div',
      { class: 'row-top' },
      el('span', { class: 'subject', text: row.subject ?? '(no subject kept)' }),
      el('span', { class: `badge ${row.outcome}`, text: row.outcome }),
    ),
    el(
      'div',
      { class: 'row-bottom' },
      el('span', { class: 'addresses', text: `${row.from || '<>'} → ${row.to.join(', ') || '(no recipient)'}` }),
      el('span', { class: 'meta', text: `${formatSize(row.size)} · ${formatTime(row.time)}` }),
    ),
  );
  item.style.top = `${index * ROW}px`;
  item.addEventListener('click', () => select(index, true));
  return item;
}

function select(index: number, open: boolean): void {
  if (index < 0 || index >= list.total) return;
  list.selected = index;
  const viewport = $('list');
  const top = index * ROW;
  if (top < viewport.scrollTop) viewport.scrollTop = top;
  else if (top + ROW > viewport.scrollTop + viewport.clientHeight)
    viewport.scrollTop = top + ROW - viewport.clientHeight;
  const row = rowAt(index);
  if (row !== undefined) {
    list.selectedId = row.id;
    if (open) void showDelivery(row);
  }
  render();
}

$('list').addEventListener('scroll', () => render(), { passive: true });
$('list').addEventListener('keydown', (event) => {
  const visible = Math.max(1, Math.floor($('list').clientHeight / ROW));
  const moves: Record<string, number> = {
    ArrowDown: list.selected + 1,
    ArrowUp: list.selected - 1,
    PageDown: list.selected + visible,
    PageUp: list.selected - visible,
    Home: 0,
    End: list.total - 1,
  };
  const next = moves[event.key];
  if (next !== undefined) {
    event.preventDefault();
    select(Math.max(0, Math.min(list.total - 1, next)), true);
  } else if (event.key === 'Enter' && list.selected >= 0) {
    event.preventDefault();
    $('detail').focus();
  }
});
$('list').addEventListener('focus', () => {
  if (list.selected < 0 && list.total > 0) select(0, true);
});

let searchTimer: number | undefined;
$('search').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = window.setTimeout(reload, 150);
});
$('outcome').addEventListener('change', reload);
document.addEventListener('keydown', (event) => {
  const target = event.target as HTMLElement;
  const typing = target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT';
  if (event.key === '/' && !typing) {
    event.preventDefault();
    $('search').focus();
  }
});

function showCountOnly(message: string): void {
  const panel = $('list-panel');
  panel.dataset.countOnly = 'true';
  const note = $('capture-note');
  note.hidden = false;
  note.replaceChildren(
    el('strong', { text: 'Only counters are kept. ' }),
    el('span', {
      text: `${message}. The counters above stay live. Start the sink with capture "envelope" (mailhole serve --capture envelope) to list deliveries, or "full" to read messages too.`,
    }),
  );
}

// --- the detail pane ------------------------------------------------------------------------

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

async function showDelivery(row: Row): Promise<void> {
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
  if (list.selectedId !== row.id) return;
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

// --- control: clear, mode, fault rules ------------------------------------------------------

interface FaultInfo {
  name: string;
  stage: string;
  action: Record<string, unknown>;
  match?: Record<string, unknown>;
  remaining?: number;
}

async function loadFaults(): Promise<void> {
  const body = $('fault-list');
  try {
    const { faults } = await api<{ faults: FaultInfo[] }>('/api/faults');
    if (faults.length === 0) {
      body.replaceChildren(el('li', { class: 'note', text: 'No fault rules in force.' }));
      return;
    }
    body.replaceChildren(
      ...faults.map((rule) => {
        const remove = el('button', { type: 'button', text: 'Remove', 'aria-label': `Remove fault rule ${rule.name}` });
        remove.addEventListener('click', async () => {
          try {
            await post(`/api/faults/${encodeURIComponent(rule.name)}`, undefined, 'DELETE');
            announce(`Fault rule ${rule.name} removed`);
            await loadFaults();
          } catch (error) {
            showError(error);
          }
        });
        return el('li', {}, el('code', { text: describeRule(rule) }), ' ', remove);
      }),
    );
  } catch (error) {
    body.replaceChildren(el('li', { class: 'note', text: (error as Error).message }));
  }
}

$<HTMLFormElement>('fault-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const stage = $<HTMLSelectElement>('fault-stage').value;
  const action = $<HTMLInputElement>('fault-action').value.trim();
  const times = $<HTMLInputElement>('fault-times').value.trim();
  const rule: Record<string, unknown> = { stage, action };
  const recipient = $<HTMLInputElement>('fault-recipient').value.trim();
  if (times !== '') rule.times = Number(times);
  if (recipient !== '') rule.match = { recipient };
  try {
    const { fault } = await post<{ fault: FaultInfo }>('/api/faults', rule);
    announce(`Fault rule ${fault.name} added: at ${fault.stage} → ${describeAction(fault.action)}`);
    $<HTMLInputElement>('fault-action').value = '';
    await loadFaults();
  } catch (error) {
    announce(`Fault rule not added: ${(error as Error).message}`);
  }
});

$('clear').addEventListener('click', async () => {
  if (!confirm('Clear every delivery, message, transcript and counter of this sink?')) return;
  try {
    await post('/api/reset');
    announce('Cleared');
    list.selectedId = undefined;
    list.selected = -1;
    $('detail').hidden = true;
    reload();
  } catch (error) {
    showError(error);
  }
});

$<HTMLFormElement>('mode-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const mode = $<HTMLSelectElement>('mode').value;
  const ratio = $<HTMLInputElement>('accept-ratio').value;
  try {
    const result = await post<{ mode: string; acceptRatio: number }>('/api/mode', {
      mode,
      ...(mode === 'random' && ratio !== '' ? { acceptRatio: Number(ratio) } : {}),
    });
    announce(`Mode is now ${result.mode}${result.mode === 'random' ? ` (accept ratio ${result.acceptRatio})` : ''}`);
  } catch (error) {
    announce(`Mode not switched: ${(error as Error).message}`);
  }
});

// --- live feed ------------------------------------------------------------------------------

let reloadTimer: number | undefined;
async function follow(): Promise<void> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  const live = $('live');
  try {
    const response = await fetch('/api/inbox/events', { headers, cache: 'no-store' });
    if (response.status === 401) {
      // Started again by start() once the token is entered.
      started = false;
      askToken();
      return;
    }
    if (!response.ok || response.body === null) throw new Error(`live feed: ${response.status}`);
    live.textContent = 'live';
    live.className = 'live on';
    const parser = new EventStreamParser();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const event of parser.feed(value)) {
        if (event.event === 'stats') showStats(JSON.parse(event.data) as Record<string, number>);
        else if (event.event === 'deliveries' || event.event === 'reload') {
          if (event.event === 'deliveries') {
            const rows = JSON.parse(event.data) as Row[];
            announce(`${rows.length} new ${rows.length === 1 ? 'delivery' : 'deliveries'}`);
          }
          // Rows shift by the new arrivals: the window in view is loaded again (at most 10 times a second).
          if (reloadTimer === undefined) {
            reloadTimer = window.setTimeout(() => {
              reloadTimer = undefined;
              reload();
            }, 100);
          }
        }
      }
    }
  } catch {
    // The sink went away or restarted: try again shortly.
  }
  live.textContent = 'reconnecting…';
  live.className = 'live off';
  setTimeout(() => void follow(), 1000);
}

// --- start ----------------------------------------------------------------------------------

let started = false;
async function start(): Promise<void> {
  // The list is asked for at once, alongside the sink's info: first paint waits for one round trip, not two.
  reload();
  let info: Info;
  try {
    info = await api<Info>('/api/info');
  } catch (error) {
    showError(error);
    return;
  }
  $('sink-url').textContent = info.url;
  $<HTMLSelectElement>('mode').value = info.options.mode;
  $<HTMLInputElement>('accept-ratio').value = String(info.options.acceptRatio);
  if (info.options.capture === 'count') showCountOnly(`this sink keeps no delivery records (capture "count")`);
  else if (info.options.capture === 'envelope') {
    const note = $('capture-note');
    note.hidden = false;
    note.textContent =
      'Capture is "envelope": deliveries, headers and sessions are listed, message bodies are not kept. Start the sink with capture "full" (mailhole serve --capture full) to read bodies and attachments.';
  }
  if (info.workers > 1) {
    $('controls').dataset.workers = String(info.workers);
  }
  void loadFaults();
  if (!started) {
    started = true;
    void follow();
  }
}

void start();
