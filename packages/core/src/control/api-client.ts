import { Buffer } from 'node:buffer';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
// Node's own timers and URL, not the globals: a Jest jsdom environment lacks or replaces them, and
// fake timers must not stall a request.
import { clearTimeout, setTimeout } from 'node:timers';
import { URL } from 'node:url';

/** @internal */
export type Method = 'GET' | 'POST' | 'DELETE';

/** @internal an answer of the control API, read whole. */
export interface ApiAnswer {
  status: number;
  statusText: string;
  body: Buffer;
}

/** @internal HTTP calls with errors that name the URL, the route and the status. */
export class ApiClient {
  constructor(
    readonly base: string,
    private readonly token: string | undefined,
    readonly timeout: number,
  ) {}

  /** A call answered with JSON; `payload` goes as a JSON body. */
  async json<T>(method: Method, path: string, timeout = this.timeout, payload?: unknown): Promise<T> {
    const answer = await this.send(method, path, timeout, [], payload);
    return JSON.parse(answer.body.toString('utf8')) as T;
  }

  /** A call whose answer must be 2xx or one of `allow`; anything else is a `RemoteError`. */
  async send(
    method: Method,
    path: string,
    timeout = this.timeout,
    allow: number[] = [],
    payload?: unknown,
  ): Promise<ApiAnswer> {
    let answer: ApiAnswer;
    try {
      answer = await this.request(method, path, timeout, payload === undefined ? undefined : JSON.stringify(payload));
    } catch (error) {
      throw this.unreachable(method, path, error, timeout);
    }
    if ((answer.status >= 200 && answer.status < 300) || allow.includes(answer.status)) return answer;
    const text = answer.body.toString('utf8');
    let detail = text.trim();
    try {
      detail = (JSON.parse(text) as { error?: string }).error ?? detail;
    } catch {
      // Not JSON: something other than mailhole answered; show what it said.
    }
    throw new RemoteError(
      `the mailhole control API at ${this.base} answered ${method} ${path.split('?')[0]} with ${answer.status} ${answer.statusText}${detail ? `: ${detail}` : ''}`,
      answer.status,
      { detail },
    );
  }

  /**
   * One request on its own connection (no agent, `Connection: close`): nothing stays open between
   * calls, so a test runner exits at once.
   */
  private request(method: Method, path: string, timeout: number, payload: string | undefined): Promise<ApiAnswer> {
    const url = new URL(`${this.base}${path}`);
    const headers: Record<string, string> = { Accept: 'application/json', Connection: 'close' };
    if (this.token !== undefined) headers.Authorization = `Bearer ${this.token}`;
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (error: Error | undefined, answer?: ApiAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error !== undefined) reject(error);
        else resolve(answer as ApiAnswer);
      };
      const req = send(url, { method, headers, agent: false }, (res: IncomingMessage) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('error', (error) => settle(error));
        res.on('end', () =>
          settle(undefined, {
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            body: Buffer.concat(parts),
          }),
        );
        res.on('close', () => {
          if (!res.complete)
            settle(Object.assign(new Error('the connection closed mid-answer'), { code: 'ECONNRESET' }));
        });
      });
      const timer = setTimeout(() => {
        const error = new Error(`no answer within ${timeout} ms`);
        error.name = 'TimeoutError';
        settle(error);
        req.destroy(error);
      }, timeout);
      req.on('error', (error) => settle(error));
      req.end(payload);
    });
  }

  private unreachable(method: string, path: string, error: unknown, timeout: number): Error {
    const e = error as (Error & { code?: string; cause?: { code?: string; message?: string } }) | undefined;
    if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
      return new RemoteError(
        `the mailhole control API at ${this.base} did not answer ${method} ${path.split('?')[0]} within ${timeout} ms`,
        0,
      );
    }
    const code = e?.code ?? e?.cause?.code ?? e?.message ?? String(error);
    return new RemoteError(
      `cannot reach the mailhole control API at ${this.base} (${code}): is \`mailhole serve --api-port\` running?`,
      0,
      { cause: error },
    );
  }
}

/** A control API call that failed: `status` is the HTTP status, 0 when there was no answer. */
export class RemoteError extends Error {
  override name = 'RemoteError';
  /** What the sink said (its `error` text), when it answered. */
  readonly detail: string | undefined;
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown; detail?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.detail = options?.detail;
  }
}
