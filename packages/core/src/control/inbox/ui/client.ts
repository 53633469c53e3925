// The inbox talking to the control API: the token (from the page's #token=, kept per tab), JSON
// calls, and what the page says when a call fails.
import { $ } from './dom.js';
import { tokenFromHash } from './format.js';

export interface Row {
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

export interface Page {
  total: number;
  offset: number;
  items: Row[];
  stats: Record<string, number>;
}

export interface Info {
  url: string;
  apiUrl: string;
  workers: number;
  options: { capture: 'count' | 'envelope' | 'full'; mode: string; acceptRatio: number; tls: string };
}

const TOKEN_KEY = 'mailhole-inbox-token';

// --- talking to the API ---------------------------------------------------------------------

const fromHash = tokenFromHash(location.hash);
if (fromHash !== undefined) {
  sessionStorage.setItem(TOKEN_KEY, fromHash);
  history.replaceState(null, '', location.pathname + location.search);
}
let token = sessionStorage.getItem(TOKEN_KEY) ?? undefined;

/** The API token the page sends, once known (from `#token=`, this tab's storage, or the dialog). */
export function currentToken(): string | undefined {
  return token;
}

/** Keeps the token the user entered for this tab. */
export function setToken(value: string): void {
  token = value;
  sessionStorage.setItem(TOKEN_KEY, value);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
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

export const post = <T>(path: string, body?: unknown, method = 'POST'): Promise<T> =>
  api<T>(path, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });

export function askToken(): void {
  const dialog = $<HTMLDialogElement>('token-dialog');
  if (!dialog.open) dialog.showModal();
}

export function announce(text: string): void {
  $('status').textContent = text;
}

export function showError(error: unknown): void {
  if (error instanceof ApiError && error.status === 401) return;
  announce(`Error: ${(error as Error).message}`);
}
