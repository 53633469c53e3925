import { hostname as osHostname } from 'node:os';
import type { SinkHooks } from '../behaviour/hooks.js';
import type { AuthMechanism } from '../behaviour/sasl.js';
import type { EngineOptions } from '../server/sink.js';
import type { SMTPServerOptions } from './types.js';

// smtp-server's options mapped onto the engine's, with smtp-server's defaults.

export const SUPPORTED = new Set<string>([
  'secure',
  'needsUpgrade',
  'name',
  'banner',
  'size',
  'hideSize',
  'authMethods',
  'authOptional',
  'disabledCommands',
  'hideSTARTTLS',
  'hidePIPELINING',
  'hide8BITMIME',
  'hideSMTPUTF8',
  'hideENHANCEDSTATUSCODES',
  'hideDSN',
  'hideREQUIRETLS',
  'allowInsecureAuth',
  'disableReverseLookup',
  'resolver',
  'logger',
  'maxClients',
  'socketTimeout',
  'closeTimeout',
  'lmtp',
  'key',
  'cert',
  'ca',
  'onConnect',
  'onSecure',
  'onAuth',
  'onMailFrom',
  'onRcptTo',
  'onData',
  'onClose',
]);

/** Options smtp-server has that mailhole does not implement, and why. */
export const UNSUPPORTED: Record<string, string> = {
  useProxy: 'the PROXY protocol is not implemented',
  useXClient: 'XCLIENT is not implemented',
  useXForward: 'XFORWARD is not implemented',
  sniOptions: 'per-name certificates (SNI) are not implemented: give one key and cert',
  SNICallback: 'per-name certificates (SNI) are not implemented: give one key and cert',
  lenientAddressParsing: 'mailhole parses addresses strictly (RFC 5321 §4.1.2)',
  secured: 'sockets are always accepted by mailhole itself',
  authRequiredMessage: 'the 530 text is mailhole’s',
  maxAllowedUnauthenticatedCommands: 'mailhole counts invalid commands (20 before 421), not unauthenticated ones',
  hideRequireTLS: 'did you mean hideREQUIRETLS?',
};

export const HANDLERS = ['onConnect', 'onSecure', 'onAuth', 'onMailFrom', 'onRcptTo', 'onData', 'onClose'] as const;

const MECHANISMS: readonly AuthMechanism[] = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'];

/** The engine options for smtp-server's, with smtp-server's defaults; throws naming a bad one. */
export function engineOptions(
  o: SMTPServerOptions,
  port: number,
  host: string | undefined,
  hooks?: SinkHooks,
): EngineOptions {
  const disabled = new Set((o.disabledCommands ?? []).map((c) => String(c).toUpperCase().trim()));
  const mechanisms = (o.authMethods?.length ? o.authMethods : ['LOGIN', 'PLAIN']).map((m) =>
    String(m).toUpperCase().trim(),
  );
  const bad = mechanisms.filter((m) => !(MECHANISMS as readonly string[]).includes(m));
  if (bad.length > 0) {
    throw new TypeError(
      `@mailhole/core/smtp-server: option "authMethods" has ${bad.join(', ')}, which mailhole does not implement (it has ${MECHANISMS.join(', ')})`,
    );
  }
  const tlsOn = o.secure === true || !disabled.has('STARTTLS');
  const hide = new Set<string>();
  if (o.hideSize) hide.add('SIZE');
  if (o.hideSTARTTLS) hide.add('STARTTLS');
  if (o.hidePIPELINING) hide.add('PIPELINING');
  if (o.hide8BITMIME) hide.add('8BITMIME');
  if (o.hideSMTPUTF8) hide.add('SMTPUTF8');
  // smtp-server's defaults: ENHANCEDSTATUSCODES, DSN and REQUIRETLS are not advertised unless asked for.
  if (o.hideENHANCEDSTATUSCODES ?? true) hide.add('ENHANCEDSTATUSCODES');
  if (o.hideDSN ?? true) hide.add('DSN');
  if (o.hideREQUIRETLS ?? true) hide.add('REQUIRETLS');
  // Not in smtp-server's list: left out so the EHLO reply reads the same.
  hide.add('BINARYMIME').add('CHUNKING').add('HELP');
  const authOn = !disabled.has('AUTH');
  const options: EngineOptions = {
    port: o.secure ? 0 : port,
    hostname: o.name ?? osHostname(),
    tls: o.secure ? 'implicit' : tlsOn ? 'starttls' : 'none',
    maxMessageSize: o.size ?? 0,
    maxDataLineLength: 0,
    maxRecipients: Number.MAX_SAFE_INTEGER,
    maxConnections: o.maxClients ?? Number.MAX_SAFE_INTEGER,
    idleTimeout: o.socketTimeout ?? 60_000,
    maxInvalidCommands: 10,
    // smtp-server has neither a per-address share of maxClients nor Postfix's error delay.
    maxConnectionsPerAddress: 0,
    errorDelay: 0,
    lmtp: o.lmtp === true,
    capture: 'count',
    hideEhloKeywords: [...hide],
    auth: authOn
      ? {
          mechanisms: mechanisms as AuthMechanism[],
          // No AUTH before TLS unless allowInsecureAuth (only where TLS can be had at all).
          requireTls: tlsOn && o.allowInsecureAuth !== true && o.secure !== true,
        }
      : false,
    requireAuth: authOn && o.authOptional !== true,
  };
  if (o.secure) options.tlsPort = port;
  if (host !== undefined) options.host = host;
  if (hooks !== undefined) options.hooks = hooks;
  if (o.key !== undefined || o.cert !== undefined) {
    if (o.key === undefined || o.cert === undefined) {
      throw new TypeError('@mailhole/core/smtp-server: options "key" and "cert" go together: give both (PEM)');
    }
    options.certificate = { key: String(o.key), cert: String(o.cert) };
  }
  return options;
}
