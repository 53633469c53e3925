// Pure helpers of the inbox page: no DOM, so they run (and are tested) in Node as well.

/** `1.2 kB`, `3.4 MB`: sizes as people read them. */
export function formatSize(octets: number): string {
  if (octets < 1000) return `${octets} B`;
  const units = ['kB', 'MB', 'GB'];
  let value = octets / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** `14:03:27` today, `2026-12-04 14:03` otherwise (local time). */
export function formatTime(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  const clock = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  const today = new Date(now);
  if (d.toDateString() === today.toDateString()) return clock;
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${clock.slice(0, 5)}`;
}

/** The token from the page's fragment (`#token=…`): the fragment never reaches a server or its logs. */
export function tokenFromHash(hash: string): string | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const token = params.get('token');
  return token === null || token === '' ? undefined : token;
}

/** One server-sent event. */
export interface ServerEvent {
  event: string;
  data: string;
}

/**
 * Parses a `text/event-stream` (HTML Living Standard, server-sent events) as it arrives in pieces.
 * The page reads the stream with `fetch` rather than `EventSource`, which cannot send the token.
 */
export class EventStreamParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];

  /** Feeds a piece of the stream; returns the events it completed. */
  feed(text: string): ServerEvent[] {
    this.buffer += text;
    const out: ServerEvent[] = [];
    let newline = this.buffer.search(/\r\n|\r|\n/);
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline);
      const width = this.buffer.startsWith('\r\n', newline) ? 2 : 1;
      this.buffer = this.buffer.slice(newline + width);
      if (line === '') {
        if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n') });
        this.event = '';
        this.data = [];
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') this.event = value;
        else if (field === 'data') this.data.push(value);
      }
      newline = this.buffer.search(/\r\n|\r|\n/);
    }
    return out;
  }
}

/** An attachment as `GET /api/messages/:id` gives it. */
export interface AttachmentJson {
  filename?: string | undefined;
  contentType: string;
  size: number;
  contentId?: string | undefined;
  /** base64 */
  content: string;
}

const REMOTE =
  /(?:\b(?:src|href|background|poster|srcset)\s*=\s*["']?\s*(?:https?:)?\/\/)|url\(\s*["']?\s*(?:https?:)?\/\//i;

/** True when the HTML would load something from the network (images, styles, fonts). */
export function hasRemoteContent(html: string): boolean {
  return REMOTE.test(html);
}

/**
 * The policy a message's frame gets on top of the page's: no script ever; remote images, styles
 * and fonts only when the user allowed them for this message.
 */
export function messagePolicy(allowRemote: boolean): string {
  const remote = allowRemote ? ' http: https:' : '';
  return [
    "default-src 'none'",
    "script-src 'none'",
    `img-src data: blob:${remote}`,
    `style-src 'unsafe-inline'${remote}`,
    `font-src data:${remote}`,
    "form-action 'none'",
  ].join('; ');
}

/**
 * The `srcdoc` of the frame that shows a message's HTML: its own CSP first (a `<meta>` before any
 * of the message's markup, so it governs all of it), links opening outside, and inline images
 * (`cid:`) replaced by the attachments they name.
 */
export function messageDocument(
  html: string,
  options: { allowRemote: boolean; attachments: AttachmentJson[] },
): string {
  const byCid = new Map<string, AttachmentJson>();
  for (const a of options.attachments) {
    if (a.contentId) byCid.set(a.contentId.replace(/^<|>$/g, ''), a);
  }
  const body = html.replace(/cid:([^"'\s)>]+)/gi, (whole, id: string) => {
    const a = byCid.get(decodeURIComponentSafe(id));
    return a === undefined ? whole : `data:${a.contentType};base64,${a.content}`;
  });
  const policy = messagePolicy(options.allowRemote).replace(/"/g, '&quot;');
  return (
    `<!DOCTYPE html><html><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${policy}">` +
    `<meta name="referrer" content="no-referrer"><base target="_blank"></head><body>${body}</body></html>`
  );
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Decodes base64 into bytes (the page's attachments). */
export function base64Bytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A file name safe to offer for download: no path, no control characters. */
export function downloadName(name: string | undefined, fallback: string): string {
  const cleaned = (name ?? '').replace(/[\\/:*?"<>|\p{Cc}]+/gu, '_').trim();
  return cleaned === '' ? fallback : cleaned.slice(0, 200);
}

/** A fault rule's action as `GET /api/faults` gives it, in the words of its short form. */
export function describeAction(action: Record<string, unknown> | string): string {
  if (typeof action === 'string') return action;
  const delay = action.delayMs === undefined ? '' : ` after ${JSON.stringify(action.delayMs)} ms`;
  switch (action.type) {
    case 'reply':
      return (
        [action.code, action.enhanced, action.text].filter((p) => p !== undefined && p !== '').join(' ') +
        (action.close ? ', then close' : '') +
        delay
      );
    case 'disconnect':
      return `${action.code ?? 421} and close${delay}`;
    case 'delay':
      return `delay ${JSON.stringify(action.ms)} ms`;
    case 'throttle':
      return `throttle to ${action.bytesPerSecond} octets/s`;
    case 'stall':
      return `stall after ${action.afterBytes} octets`;
    default:
      return `${String(action.type)}${delay}`;
  }
}

/** A fault rule in one line: name, stage, match, action and firings left. */
export function describeRule(rule: {
  name: string;
  stage: string;
  action: Record<string, unknown> | string;
  match?: Record<string, unknown>;
  remaining?: number;
}): string {
  const match = Object.entries(rule.match ?? {})
    .map(([key, value]) => `${key} ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
  const left = rule.remaining === undefined ? '' : ` (${rule.remaining} left)`;
  return `${rule.name}: at ${rule.stage}${match ? ` when ${match}` : ''} → ${describeAction(rule.action)}${left}`;
}
