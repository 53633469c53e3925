import { isIP } from 'node:net';
import {
  BEHAVIOUR_OPTIONS,
  type BehaviourOptions,
  type ResolvedBehaviour,
  resolveBehaviour,
} from '../behaviour/options.js';
import type { AuthProvider, StagePolicy } from '../protocol/types.js';

/** Which TLS the sink speaks: none (plain SMTP, the default), STARTTLS, implicit TLS, or both. */
export type TlsMode = 'none' | 'starttls' | 'implicit' | 'both';

/** How much of each delivery the sink keeps: counts only, envelopes (default), or whole messages. */
export type CaptureLevel = 'count' | 'envelope' | 'full';

/** Your own certificate instead of the generated test CA. */
export interface CertificateInput {
  /** PEM private key. */
  key: string | Buffer;
  /** PEM certificate, followed by any intermediates. */
  cert: string | Buffer;
  /** PEM of the CA clients should trust (reported as `sink.ca`). */
  ca?: string | Buffer;
}

/**
 * Options of `startSink`. Every limit has a safe default; invalid values throw a `TypeError`
 * or `RangeError` that names the option.
 */
export interface SinkOptions extends BehaviourOptions {
  /** Address to bind. Default `127.0.0.1` (loopback): the sink never listens beyond it unless told. */
  host?: string;
  /** Plain SMTP port; 0 (default) lets the OS pick a free one, read it back from `sink.port`. */
  port?: number;
  /** Name in the greeting and EHLO reply. Default `localhost`. */
  hostname?: string;
  /** TLS mode. Default `none`. `starttls` offers STARTTLS on `port`; `implicit` adds a TLS-from-the-first-byte listener on `tlsPort` (plain `port` stays open, without STARTTLS); `both` does both. */
  tls?: TlsMode;
  /** Implicit-TLS port (with `tls: 'implicit' | 'both'`); 0 (default) lets the OS pick. */
  tlsPort?: number;
  /** Refuse MAIL and the rest with `530 5.7.0` until STARTTLS (RFC 3207). */
  requireTls?: boolean;
  /** Extra host names (or IPs) for the generated server certificate, besides localhost, 127.0.0.1, ::1. */
  tlsHostnames?: string[];
  /** Use this certificate instead of the generated test CA. */
  certificate?: CertificateInput;
  /** Folder where the generated CA is kept so several processes share one. Default: per-process only. */
  tlsCacheDir?: string;
  /** Lowest TLS version accepted. Default `TLSv1.2`. */
  minTlsVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Largest message in octets, advertised as SIZE; 0 = no limit. Default 64 MiB. */
  maxMessageSize?: number;
  /** Recipients per message. Default 1000 (RFC 5321 asks for at least 100). */
  maxRecipients?: number;
  /** Simultaneous connections; extra ones get `421 4.7.0`. Default 1000. */
  maxConnections?: number;
  /** Milliseconds a connection may stay silent before `421 4.4.2`. Default 120000. */
  idleTimeout?: number;
  /**
   * Milliseconds a command line, a line of message text or 64 KiB of a BDAT chunk may take from its
   * first octet to its last, however the client trickles it, before `421 4.4.2` (Postfix's
   * `smtpd_per_record_deadline`). Default: `idleTimeout`; 0 = no deadline.
   */
  recordTimeout?: number;
  /** Milliseconds a session may last in all before `421 4.4.2`; 0 (default) = no cap. */
  maxSessionTime?: number;
  /**
   * Simultaneous connections from one client address; extra ones get `421 4.7.0`. Default: nine
   * tenths of `maxConnections` (900 of 1000), so one client can never take the last slots from the
   * others; 0 = no limit beyond maxConnections.
   */
  maxConnectionsPerAddress?: number;
  /** Longest command line in octets, CRLF included. Default 2048 (512 of RFC 5321 plus extension room). */
  maxCommandLineLength?: number;
  /** Longest message text line in octets, CRLF included; 0 = no limit. Default 1000 (RFC 5321 §4.5.3.1.6). */
  maxDataLineLength?: number;
  /**
   * Errors before the session is closed with `421 4.7.0` (Postfix's `smtpd_hard_error_limit`): unknown,
   * malformed or out-of-order commands, commands refused by requireAuth or requireTls, and refused
   * recipients once a transaction has more of them than `maxRecipients`. A message accepted starts
   * the count over. Default 20.
   */
  maxInvalidCommands?: number;
  /** Errors after which each further error reply waits `errorDelay` ms (Postfix's `smtpd_soft_error_limit`). Default 10. */
  softErrorLimit?: number;
  /** Milliseconds each error reply waits past `softErrorLimit`, slowing a flood; 0 = no wait. Default 100. */
  errorDelay?: number;
  /** Refused recipients kept (with their replies) per transaction and record; the rest are counted in `rejectedRecipientsOmitted`. Default 100. */
  maxRejectedRecipients?: number;
  /** Accept commands out of order (MAIL before EHLO, RCPT before MAIL), like the black-hole MTA. Default false. */
  lenient?: boolean;
  /** Speak LMTP (RFC 2033) instead of SMTP on the plain listener. Default false. */
  lmtp?: boolean;
  /** What to keep of each delivery. Default `envelope` (the content is forgotten). */
  capture?: CaptureLevel;
  /** How many delivery records to keep; older ones are dropped and counted. Default 1000. */
  maxRecords?: number;
  /** With capture `full`: octets of message content kept at most (oldest dropped first, counted). Default 64 MiB. */
  maxCaptureBytes?: number;
  /**
   * Your own reply policy, for what the behaviour options (mode, delay, faults …) cannot say:
   * asked at every stage after the fault rules; a decision it returns wins over modes and delays.
   */
  policy?: StagePolicy;
  /**
   * EHLO keywords to leave out of the list, e.g. `['PIPELINING', 'CHUNKING']` (a client then does
   * without them; the engine still understands the commands).
   */
  hideEhloKeywords?: readonly string[];
}

export interface ResolvedOptions {
  host: string;
  port: number;
  hostname: string;
  tls: TlsMode;
  tlsPort: number;
  requireTls: boolean;
  tlsHostnames: string[];
  certificate: CertificateInput | undefined;
  tlsCacheDir: string | undefined;
  minTlsVersion: 'TLSv1.2' | 'TLSv1.3';
  maxMessageSize: number;
  maxRecipients: number;
  maxConnections: number;
  idleTimeout: number;
  recordTimeout: number;
  maxSessionTime: number;
  maxConnectionsPerAddress: number;
  maxCommandLineLength: number;
  maxDataLineLength: number;
  maxInvalidCommands: number;
  softErrorLimit: number;
  errorDelay: number;
  maxRejectedRecipients: number;
  lenient: boolean;
  lmtp: boolean;
  capture: CaptureLevel;
  maxRecords: number;
  maxCaptureBytes: number;
  policy: StagePolicy | undefined;
  /** Upper-cased EHLO keywords left out of the list. */
  hideEhloKeywords: ReadonlySet<string>;
  /** Built from the `auth` and `requireAuth` options. */
  auth: AuthProvider | undefined;
  /** Modes, delays, header switches, initial fault rules, seed. */
  behaviour: ResolvedBehaviour;
}

const KNOWN = new Set([
  'host',
  'port',
  'hostname',
  'tls',
  'tlsPort',
  'requireTls',
  'tlsHostnames',
  'certificate',
  'tlsCacheDir',
  'minTlsVersion',
  'maxMessageSize',
  'maxRecipients',
  'maxConnections',
  'idleTimeout',
  'recordTimeout',
  'maxSessionTime',
  'maxConnectionsPerAddress',
  'maxCommandLineLength',
  'maxDataLineLength',
  'maxInvalidCommands',
  'softErrorLimit',
  'errorDelay',
  'maxRejectedRecipients',
  'lenient',
  'lmtp',
  'capture',
  'maxRecords',
  'maxCaptureBytes',
  'policy',
  'hideEhloKeywords',
  ...BEHAVIOUR_OPTIONS,
]);

/** Applies defaults and checks every option, throwing an error that names the bad one. */
export function resolveOptions(options: SinkOptions = {}, extraKeys: ReadonlySet<string> = new Set()): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`startSink: options must be an object, got ${typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key) && !extraKeys.has(key)) {
      throw new TypeError(`startSink: unknown option "${key}" (known: ${[...KNOWN, ...extraKeys].join(', ')})`);
    }
  }
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '')
    throw new TypeError('startSink: option "host" must be a non-empty string such as "127.0.0.1" or "::1"');
  const tls = options.tls ?? 'none';
  if (!['none', 'starttls', 'implicit', 'both'].includes(tls)) {
    throw new TypeError(
      `startSink: option "tls" must be "none", "starttls", "implicit" or "both", got ${JSON.stringify(tls)}`,
    );
  }
  const requireTls = bool(options.requireTls, 'requireTls', false);
  if (requireTls && tls !== 'starttls' && tls !== 'both') {
    throw new TypeError('startSink: option "requireTls" needs STARTTLS: set tls to "starttls" or "both"');
  }
  const capture = options.capture ?? 'envelope';
  if (!['count', 'envelope', 'full'].includes(capture)) {
    throw new TypeError(
      `startSink: option "capture" must be "count", "envelope" or "full", got ${JSON.stringify(capture)}`,
    );
  }
  const minTlsVersion = options.minTlsVersion ?? 'TLSv1.2';
  if (minTlsVersion !== 'TLSv1.2' && minTlsVersion !== 'TLSv1.3') {
    throw new TypeError(
      `startSink: option "minTlsVersion" must be "TLSv1.2" or "TLSv1.3", got ${JSON.stringify(minTlsVersion)}`,
    );
  }
  const hostname = options.hostname ?? 'localhost';
  if (typeof hostname !== 'string' || !/^[A-Za-z0-9.\-[\]:]+$/.test(hostname)) {
    throw new TypeError(
      `startSink: option "hostname" must be a host name such as "mail.test", got ${JSON.stringify(hostname)}`,
    );
  }
  const tlsHostnames = options.tlsHostnames ?? [];
  const bad = Array.isArray(tlsHostnames)
    ? tlsHostnames.findIndex((h) => typeof h !== 'string' || (isIP(h) === 0 && !/^[A-Za-z0-9.*-]+$/.test(h)))
    : -2;
  if (bad !== -1) {
    const got = bad === -2 ? tlsHostnames : (tlsHostnames as unknown[])[bad];
    throw new TypeError(
      `startSink: option "tlsHostnames" must be an array of host names or IP addresses such as ["mail.test"], got ${JSON.stringify(got)}`,
    );
  }
  const certificate = options.certificate;
  if (certificate !== undefined && (certificate.key === undefined || certificate.cert === undefined)) {
    throw new TypeError('startSink: option "certificate" needs both "key" and "cert" (PEM)');
  }
  const behaviour = resolveBehaviour(options, { hostname, tls });
  const idleTimeout = int(options.idleTimeout, 'idleTimeout', 120_000, 1);
  const maxConnections = int(options.maxConnections, 'maxConnections', 1000, 1);
  return {
    host,
    port: port(options.port, 'port'),
    hostname,
    tls,
    tlsPort: port(options.tlsPort, 'tlsPort'),
    requireTls,
    tlsHostnames,
    certificate,
    tlsCacheDir: options.tlsCacheDir,
    minTlsVersion,
    maxMessageSize: int(options.maxMessageSize, 'maxMessageSize', 64 * 1024 * 1024, 0),
    maxRecipients: int(options.maxRecipients, 'maxRecipients', 1000, 1),
    maxConnections,
    idleTimeout,
    recordTimeout: int(options.recordTimeout, 'recordTimeout', idleTimeout, 0),
    maxSessionTime: int(options.maxSessionTime, 'maxSessionTime', 0, 0),
    maxConnectionsPerAddress: int(
      options.maxConnectionsPerAddress,
      'maxConnectionsPerAddress',
      maxConnections - Math.floor(maxConnections / 10),
      0,
    ),
    maxCommandLineLength: int(options.maxCommandLineLength, 'maxCommandLineLength', 2048, 512),
    maxDataLineLength: int(options.maxDataLineLength, 'maxDataLineLength', 1000, 0),
    maxInvalidCommands: int(options.maxInvalidCommands, 'maxInvalidCommands', 20, 1),
    softErrorLimit: int(options.softErrorLimit, 'softErrorLimit', 10, 0),
    errorDelay: int(options.errorDelay, 'errorDelay', 100, 0),
    maxRejectedRecipients: int(options.maxRejectedRecipients, 'maxRejectedRecipients', 100, 0),
    lenient: bool(options.lenient, 'lenient', false),
    lmtp: bool(options.lmtp, 'lmtp', false),
    capture,
    maxRecords: int(options.maxRecords, 'maxRecords', 1000, 0),
    maxCaptureBytes: int(options.maxCaptureBytes, 'maxCaptureBytes', 64 * 1024 * 1024, 1),
    policy: options.policy,
    hideEhloKeywords: keywordSet(options.hideEhloKeywords),
    auth: behaviour.auth,
    behaviour,
  };
}

function port(value: unknown, name: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new RangeError(
      `startSink: option "${name}" must be a port number from 0 to 65535 (0 = any free port), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function int(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`startSink: option "${name}" must be a whole number >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function bool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new TypeError(`startSink: option "${name}" must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function keywordSet(value: unknown): ReadonlySet<string> {
  if (value === undefined) return new Set();
  if (!Array.isArray(value) || !value.every((k) => typeof k === 'string' && /^[A-Za-z0-9][A-Za-z0-9-]*$/.test(k))) {
    throw new TypeError(
      `startSink: option "hideEhloKeywords" must be a list of EHLO keywords such as ["PIPELINING", "CHUNKING"], got ${JSON.stringify(value)}`,
    );
  }
  return new Set(value.map((k: string) => k.toUpperCase()));
}
