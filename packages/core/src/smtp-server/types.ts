import type { Readable } from 'node:stream';

// smtp-server's public shapes, as its README documents them.

/** A path as smtp-server gives it to `onMailFrom` and `onRcptTo`: the address and its parameters by name. */
export interface SMTPServerAddress {
  address: string;
  /** Upper-cased parameter names; `true` for a bare keyword. `false` when there were none. */
  args: Record<string, string | true> | false;
}

/** smtp-server's `session` object: one per connection, the same in every handler. */
export interface SMTPServerSession {
  id: string;
  secure: boolean;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** `[ip]`: mailhole never does a reverse lookup (as smtp-server with `disableReverseLookup`). */
  clientHostname: string;
  /** `HELO`, `EHLO` or `LHLO` once given, else `false`. */
  openingCommand: string | false;
  hostNameAppearsAs: string | false;
  /** `SMTP`, `ESMTP`, `LMTP`, plus `S` over TLS and `A` once authenticated (e.g. `ESMTPSA`). */
  transmissionType: string;
  envelope: { mailFrom: SMTPServerAddress | false; rcptTo: SMTPServerAddress[] };
  /** What `onAuth` passed as `user`. */
  user?: unknown;
  /** Transactions started on this connection, from 1. */
  transaction: number;
  xClient: Map<string, unknown>;
  xForward: Map<string, unknown>;
  tlsOptions: { name: string; standardName: string; version: string } | false;
}

/** What `onAuth` gets: smtp-server's `auth` object. */
export interface SMTPServerAuthentication {
  method: string;
  username: string;
  password?: string;
  accessToken?: string;
  challenge?: string;
  challengeResponse?: string;
  validatePassword(password: string): boolean;
}

/** What `onAuth`'s callback takes. */
export interface SMTPServerAuthenticationResponse {
  user?: unknown;
  message?: string;
  responseCode?: number;
  data?: unknown;
}

/** The message stream `onData` reads, with smtp-server's extra fields. */
export type SMTPServerDataStream = Readable & { byteLength: number; sizeExceeded: boolean };

export type Callback<T = void> = (error?: (Error & { responseCode?: number }) | null, value?: T) => void;

/** smtp-server's constructor options that this compat layer implements. */
export interface SMTPServerOptions {
  secure?: boolean;
  /** With `secure`: TLS starts on the accepted socket, which is what `secure` does here anyway. */
  needsUpgrade?: boolean;
  name?: string;
  banner?: string;
  size?: number;
  hideSize?: boolean;
  authMethods?: string[];
  authOptional?: boolean;
  disabledCommands?: string[];
  hideSTARTTLS?: boolean;
  hidePIPELINING?: boolean;
  hide8BITMIME?: boolean;
  hideSMTPUTF8?: boolean;
  hideENHANCEDSTATUSCODES?: boolean;
  hideDSN?: boolean;
  hideREQUIRETLS?: boolean;
  allowInsecureAuth?: boolean;
  disableReverseLookup?: boolean;
  /** Accepted and unused: mailhole does no reverse lookup. */
  resolver?: unknown;
  /** Accepted and unused (`false`, `true` or a logger): mailhole reports through its events. */
  logger?: unknown;
  maxClients?: number;
  socketTimeout?: number;
  /** Accepted: `close()` ends open sessions at once (421), so there is nothing to time out. */
  closeTimeout?: number;
  lmtp?: boolean;
  key?: string | Buffer;
  cert?: string | Buffer;
  ca?: string | Buffer | Array<string | Buffer>;
  onConnect?(session: SMTPServerSession, callback: Callback): void;
  onSecure?(socket: undefined, session: SMTPServerSession, callback: Callback): void;
  onAuth?(
    auth: SMTPServerAuthentication,
    session: SMTPServerSession,
    callback: Callback<SMTPServerAuthenticationResponse>,
  ): void;
  onMailFrom?(address: SMTPServerAddress, session: SMTPServerSession, callback: Callback): void;
  onRcptTo?(address: SMTPServerAddress, session: SMTPServerSession, callback: Callback): void;
  onData?(stream: SMTPServerDataStream, session: SMTPServerSession, callback: Callback<unknown>): void;
  onClose?(session: SMTPServerSession): void;
}
