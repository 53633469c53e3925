import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { TlsInfo } from '../protocol/types.js';
import { refuseHandshake } from '../tls/handshake-fault.js';

/** What the caller does with the outcome of a server-side TLS handshake. */
export interface TlsUpgradeHandlers {
  /** The handshake completed: the session goes on over `secure`. */
  secured(secure: TLSSocket, info: TlsInfo): void;
  /** It failed, timed out, or the client left first (called once; the sockets are destroyed). */
  failed(): void;
}

/**
 * The server side of a TLS handshake on an accepted TCP socket, written once for both ways a
 * session gets TLS: implicit TLS (RFC 8314, on accept) and STARTTLS (RFC 3207, after `220 Ready to
 * start TLS`). Without a context (the `handshake` TLS fault) every handshake is refused with an alert.
 * The handshake may take `timeoutMs`; a client that stalls in it is cut off.
 *
 * @returns the socket to destroy to abandon the connection (the TLS socket, or `plain` when refusing).
 */
export function upgradeToTls(
  plain: Socket,
  context: SecureContext | undefined,
  mode: TlsInfo['mode'],
  timeoutMs: number,
  on: TlsUpgradeHandlers,
): Socket {
  let settled = false;
  if (context === undefined) {
    const refused = (): void => {
      if (settled) return;
      settled = true;
      on.failed();
    };
    plain.once('close', refused);
    plain.setTimeout(timeoutMs, () => plain.destroy());
    refuseHandshake(plain);
    return plain;
  }
  const secure = new TLSSocket(plain, { isServer: true, secureContext: context, requestCert: false });
  const fail = (): void => {
    if (settled) return;
    settled = true;
    plain.removeListener('close', fail);
    secure.destroy();
    on.failed();
  };
  // After the handshake an error still ends the connection; 'close' then cleans up.
  secure.on('error', () => (settled ? secure.destroy() : fail()));
  secure.setTimeout(timeoutMs, fail);
  plain.once('close', fail);
  secure.once('secure', () => {
    if (settled) return;
    settled = true;
    plain.removeListener('close', fail);
    secure.removeListener('timeout', fail);
    secure.setTimeout(0);
    const info: TlsInfo = {
      protocol: secure.getProtocol() ?? 'unknown',
      cipher: secure.getCipher()?.name ?? 'unknown',
      mode,
    };
    // The name the client asked for with SNI (RFC 6066), shown in transcripts and records.
    if (typeof secure.servername === 'string' && secure.servername !== '') info.servername = secure.servername;
    on.secured(secure, info);
  });
  return secure;
}
