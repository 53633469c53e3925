// The mailhole web inbox: a live, paged list of deliveries and the session behind each one.
// No framework: the page is a list, a detail pane and a few forms, and every piece of mail
// content is put into the DOM as text (textContent), never as markup; mail HTML goes only into
// a sandboxed frame (see messageDocument).
import {
  ApiError,
  announce,
  api,
  askToken,
  currentToken,
  type Info,
  type Page,
  post,
  type Row,
  setToken,
  showError,
} from './client.js';
import { showDelivery } from './detail.js';
import { $, el } from './dom.js';
import { describeAction, describeRule, EventStreamParser, formatSize, formatTime } from './format.js';

/** Row height in pixels: the list is virtual, rows are placed by position. */
const ROW = 58;
const PAGE = 100;
/** Pages of rows kept in memory at most: the page's memory stays bounded whatever the sink holds. */
const MAX_PAGES = 12;

$<HTMLFormElement>('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = $<HTMLInputElement>('token-input').value.trim();
  if (value === '') return;
  setToken(value);
  $<HTMLDialogElement>('token-dialog').close();
  void start();
});

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
    if (open) void showDelivery(row, (id) => list.selectedId === id);
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
  const token = currentToken();
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
