import type { Socket } from 'node:net';
import { clearTimeout, setTimeout } from 'node:timers';

/**
 * A TLS record holding one fatal `handshake_failure` alert (RFC 8446 §6, RFC 5246 §7.2): what a
 * real server sends when it cannot agree on anything with the client. Record version 0x0303 is
 * what TLS 1.2 and 1.3 both put on the wire.
 */
const HANDSHAKE_FAILURE_ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);

/** A client that ignores the alert and never closes must not hold the socket. */
const LINGER_MS = 1000;

/**
 * Fails the TLS handshake on `socket` the way a broken server does (the `handshake` TLS fault):
 * waits for the client's first handshake bytes, answers them with a fatal alert and closes.
 *
 * Answering the ClientHello, rather than sending something at once, makes the client fail inside
 * its handshake every time: bytes sent right after `220 Ready to start TLS` could reach a STARTTLS
 * client before it switched to TLS, and it would see a reset instead of a handshake error.
 */
export function refuseHandshake(socket: Socket): void {
  socket.once('data', () => {
    socket.end(HANDSHAKE_FAILURE_ALERT);
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    socket.once('close', () => clearTimeout(timer));
  });
  socket.resume();
}
