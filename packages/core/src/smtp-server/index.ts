/**
 * `@mailhole/core/smtp-server`: nodemailer's `smtp-server` API on the mailhole engine. A test
 * server written for smtp-server switches by changing one import.
 *
 * @example
 * import { SMTPServer } from '@mailhole/core/smtp-server';
 * const server = new SMTPServer({ authOptional: true, onData(stream, session, cb) { stream.resume(); stream.on('end', cb); } });
 * server.listen(0, '127.0.0.1', () => console.log(server.server.address().port));
 */
import { EventEmitter } from 'node:events';
import { hostname as osHostname } from 'node:os';
import { Readable } from 'node:stream';
import type { HookReply, HookSession, SinkHooks } from '../behaviour/hooks.js';
import { listenSink } from '../server/listen.js';
import type { Sink } from '../server/sink.js';
import { engineOptions, HANDLERS, SUPPORTED, UNSUPPORTED } from './options.js';
import { args, authentication, newSession, transmissionType } from './session.js';
import type {
  Callback,
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerAuthenticationResponse,
  SMTPServerDataStream,
  SMTPServerOptions,
  SMTPServerSession,
} from './types.js';

export type {
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerAuthenticationResponse,
  SMTPServerDataStream,
  SMTPServerOptions,
  SMTPServerSession,
} from './types.js';

interface CompatState {
  session: SMTPServerSession;
  /** The pending onData answer of this message, asked once and shared by its LMTP recipients. */
  data?: Promise<unknown[] | ({ error: Error & { responseCode?: number } } | { message: unknown })> | undefined;
}

/**
 * smtp-server's `SMTPServer`, on the mailhole engine (no second SMTP implementation): its
 * documented options and defaults, callback hooks with `err.responseCode`, `session` fields,
 * `listen()`, `close(cb)` and the `listening`, `close` and `error` events.
 *
 * @example const server = new SMTPServer({ authOptional: true }); server.listen(2525, '127.0.0.1');
 */
export class SMTPServer extends EventEmitter {
  readonly options: SMTPServerOptions;
  /** The engine under this server, once `listen` finished (e.g. for `sink.waitFor`). */
  sink: Sink | undefined;
  /** Enough of a `net.Server` for what tests ask of it: `address()` and `listening`. */
  readonly server: {
    address(): { port: number; address: string; family: string } | null;
    readonly listening: boolean;
  };
  private starting: Promise<void> | undefined;
  private closed = false;

  constructor(options: SMTPServerOptions = {}) {
    super();
    const unknown = Object.keys(options).filter((key) => !SUPPORTED.has(key));
    if (unknown.length > 0) {
      const why = unknown.map((key) => `"${key}" (${UNSUPPORTED[key] ?? 'not an smtp-server option mailhole knows'})`);
      throw new TypeError(
        `@mailhole/core/smtp-server: option${unknown.length > 1 ? 's' : ''} ${why.join(', ')} not supported; remove ${unknown.length > 1 ? 'them' : 'it'} or use startSink from @mailhole/core`,
      );
    }
    this.options = options;
    // As smtp-server: handlers given as options replace the methods; either may be set later too.
    for (const name of HANDLERS) {
      const handler = options[name];
      if (typeof handler === 'function') (this as Record<string, unknown>)[name] = handler;
    }
    // Checked now, like smtp-server, so a bad option fails where the server is made.
    engineOptions(options, 0, undefined);
    const self = this;
    this.server = {
      address() {
        const sink = self.sink;
        if (sink === undefined || self.closed) return null;
        const port = options.secure ? (sink.tlsPort as number) : sink.port;
        return { port, address: sink.host, family: sink.host.includes(':') ? 'IPv6' : 'IPv4' };
      },
      get listening() {
        return self.sink !== undefined && !self.closed;
      },
    };
  }

  /**
   * Starts listening, like `net.Server#listen`: `(port, host?, callback?)` or `({ port, host }, callback?)`.
   * Emits `listening` (and calls `callback`) once bound, `error` if it cannot bind.
   */
  listen(...args: unknown[]): this {
    const callback = typeof args[args.length - 1] === 'function' ? (args.pop() as () => void) : undefined;
    let port = 0;
    let host: string | undefined;
    const first = args[0];
    if (typeof first === 'object' && first !== null) {
      const o = first as { port?: number | string; host?: string };
      port = Number(o.port ?? 0);
      host = o.host;
    } else {
      if (first !== undefined && first !== null) port = Number(first);
      if (typeof args[1] === 'string') host = args[1];
    }
    if (callback !== undefined) this.once('listening', callback);
    this.starting = listenSink(engineOptions(this.options, port, host, this.hooks())).then(
      (sink) => {
        this.sink = sink;
        sink.on('error', (error) => this.emit('error', error));
        if (this.closed) {
          void sink.close();
          return;
        }
        this.emit('listening');
      },
      (error: unknown) => {
        this.starting = undefined;
        this.emit('error', error);
      },
    );
    return this;
  }

  /** Stops listening and ends every open session (421); `callback` runs once all is closed, then `close` is emitted. */
  close(callback?: () => void): void {
    this.closed = true;
    const done = (): void => {
      callback?.();
      this.emit('close');
    };
    const starting = this.starting;
    if (starting === undefined) {
      queueMicrotask(done);
      return;
    }
    starting.then(() => this.sink?.close()).then(done, done);
  }

  /** Called once a client connects; `callback(err)` refuses it (`err.responseCode`, default 554). Replace it, or pass `onConnect`. */
  onConnect(_session: SMTPServerSession, callback: Callback): void {
    callback();
  }

  /** Called after a TLS handshake (mailhole has no socket to give: `undefined`). */
  onSecure(_socket: undefined, _session: SMTPServerSession, callback: Callback): void {
    callback();
  }

  /** Checks credentials; smtp-server's default refuses every attempt ("Authentication not implemented"). */
  onAuth(
    _auth: SMTPServerAuthentication,
    _session: SMTPServerSession,
    callback: Callback<SMTPServerAuthenticationResponse>,
  ): void {
    callback(null, { message: 'Authentication not implemented' });
  }

  /** Decides MAIL FROM (`err.responseCode`, default 550). */
  onMailFrom(_address: SMTPServerAddress, _session: SMTPServerSession, callback: Callback): void {
    callback();
  }

  /** Decides each RCPT TO (`err.responseCode`, default 550). */
  onRcptTo(_address: SMTPServerAddress, _session: SMTPServerSession, callback: Callback): void {
    callback();
  }

  /** Reads the message and decides it (`err.responseCode`, default 450); the default reads it and accepts. */
  onData(stream: SMTPServerDataStream, _session: SMTPServerSession, callback: Callback<unknown>): void {
    stream.resume();
    stream.on('end', () => callback());
  }

  /** Called once a connection closed. */
  onClose(_session: SMTPServerSession): void {}

  /** smtp-server reloads its TLS options here; mailhole does not. */
  updateSecureContext(): never {
    throw new TypeError(
      '@mailhole/core/smtp-server: updateSecureContext() is not supported: start a new SMTPServer with the new key and cert',
    );
  }

  private hooks(): SinkHooks {
    const o = this.options;
    const lmtp = o.lmtp === true;
    const refusal = (error: Error & { responseCode?: number }, fallback: number, close = false): HookReply => ({
      code: typeof error.responseCode === 'number' ? error.responseCode : fallback,
      text: error.message,
      close,
    });
    const state = (hook: HookSession): CompatState => {
      let compat = hook.state.compat as CompatState | undefined;
      if (compat === undefined) {
        compat = { session: newSession(hook, lmtp) };
        hook.state.compat = compat;
      }
      const session = compat.session;
      session.secure = hook.tls !== undefined;
      session.tlsOptions =
        hook.tls === undefined
          ? false
          : { name: hook.tls.cipher, standardName: hook.tls.cipher, version: hook.tls.protocol };
      session.transmissionType = transmissionType(session, lmtp);
      return compat;
    };
    const asked = <T>(ask: (callback: Callback<T>) => void): Promise<[Error | null | undefined, T | undefined]> =>
      new Promise((resolve) => {
        let settled = false;
        ask((error, value) => {
          if (settled) return;
          settled = true;
          resolve([error, value]);
        });
      });
    const hooks: SinkHooks = {
      connect: async (hook) => {
        const { session } = state(hook);
        const [error] = await asked((cb) => this.onConnect(session, cb));
        if (error) return refusal(error, 554, true);
        if (o.banner !== undefined) return { code: 220, text: `${o.name ?? osHostname()} ESMTP ${o.banner}` };
        return undefined;
      },
      helo: (hook, name, command) => {
        const { session } = state(hook);
        session.openingCommand = command;
        session.hostNameAppearsAs = name;
        session.envelope = { mailFrom: false, rcptTo: [] };
        session.transmissionType = transmissionType(session, lmtp);
      },
      secure: async (hook) => {
        const { session } = state(hook);
        // A new EHLO follows the handshake (RFC 3207 §4.2).
        session.openingCommand = false;
        session.hostNameAppearsAs = false;
        session.envelope = { mailFrom: false, rcptTo: [] };
        const [error] = await asked((cb) => this.onSecure(undefined, session, cb));
        return error ? refusal(error, 554, true) : undefined;
      },
      auth: async (hook, credentials) => {
        const { session } = state(hook);
        const [error, response] = await asked<SMTPServerAuthenticationResponse>((cb) =>
          this.onAuth(authentication(credentials), session, cb),
        );
        if (error) return refusal(error, 535);
        if (!response?.user) {
          return {
            code: response?.responseCode ?? 535,
            text: response?.message ?? 'Error: Authentication credentials invalid',
          };
        }
        session.user = response.user;
        session.transmissionType = transmissionType(session, lmtp);
        return undefined;
      },
      mail: async (hook, sender) => {
        const { session } = state(hook);
        const address = { address: sender.address, args: args(sender.parameters) };
        const [error] = await asked((cb) => this.onMailFrom(address, session, cb));
        if (error) return refusal(error, 550);
        session.envelope = { mailFrom: address, rcptTo: [] };
        return undefined;
      },
      rcpt: async (hook, recipient) => {
        const { session } = state(hook);
        const address = { address: recipient.address, args: args(recipient.parameters) };
        const [error] = await asked((cb) => this.onRcptTo(address, session, cb));
        if (error) return refusal(error, 550);
        session.envelope.rcptTo.push(address);
        return undefined;
      },
      message: async (hook, message, info) => {
        const compat = state(hook);
        const session = compat.session;
        if (compat.data === undefined) {
          const stream = Object.assign(Readable.from(message.length > 0 ? [message] : []), {
            byteLength: info.size,
            sizeExceeded: info.proposed.code === 552,
          }) as SMTPServerDataStream;
          compat.data = asked<unknown>((cb) => this.onData(stream, session, cb)).then(([error, value]) => {
            let failure = error ?? undefined;
            if (failure === undefined && stream.sizeExceeded) {
              failure = Object.assign(new Error(`Error: message exceeds fixed maximum message size ${o.size ?? 0}`), {
                responseCode: 552,
              });
            }
            if (failure !== undefined) return { error: failure };
            return Array.isArray(value) ? value : { message: value };
          });
        }
        const outcome = await compat.data;
        const index =
          info.recipient === undefined ? 0 : session.envelope.rcptTo.findIndex((r) => r.address === info.recipient);
        const last = info.recipient === undefined || index === session.envelope.rcptTo.length - 1;
        if (last) {
          compat.data = undefined;
          session.transaction++;
          session.envelope = { mailFrom: false, rcptTo: [] };
        }
        const one = Array.isArray(outcome)
          ? (outcome[index] as unknown)
          : 'error' in outcome
            ? outcome.error
            : outcome.message;
        if (one instanceof Error) return refusal(one as Error & { responseCode?: number }, 450);
        const fallback = lmtp ? 'OK: message accepted' : 'OK: message queued';
        return { code: 250, text: typeof one === 'string' ? one : fallback };
      },
      close: (hook) => {
        this.onClose(state(hook).session);
      },
    };
    return hooks;
  }
}
