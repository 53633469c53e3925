import type { Socket } from 'node:net';
import { clearTimeout, setTimeout } from 'node:timers';
import { reply } from '../protocol/reply.js';
import type { Decision } from '../protocol/types.js';

/** The reply when a policy's promise rejects (policies turn their own failures into decisions; this is the fallback). */
const decisionFailedReply = reply(
  451,
  '4.3.0',
  'Internal error in the sink while deciding this reply: try again later (see the sink\'s "error" event)',
);

/**
 * Waits for a pending decision, at most `ms` (the command deadline). Exactly one of `settled` and
 * `expired` is called, once; a rejection is `reported` and settles as `451 4.3.0`.
 *
 * @example connection.waiting = waitForDecision(decision, 120_000, { settled, expired, reported });
 */
export function waitForDecision(
  decision: PromiseLike<Decision | undefined>,
  ms: number,
  on: { settled(decision: Decision | undefined): void; expired(): void; reported(error: unknown): void },
): NodeJS.Timeout {
  let done = false;
  const settle = (settled: Decision | undefined): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    on.settled(settled);
  };
  const timer = setTimeout(() => {
    if (done) return;
    done = true;
    on.expired();
  }, ms);
  decision.then(settle, (error: unknown) => {
    on.reported(error);
    settle({ reply: decisionFailedReply });
  });
  return timer;
}

/**
 * Sends a TCP reset. Only a TCP socket can send one (a TLSSocket throws ERR_INVALID_HANDLE_TYPE),
 * so under TLS the TCP socket is reset and the TLS one goes with it.
 */
export function resetSocket(socket: Socket, tcp: Socket): void {
  try {
    tcp.resetAndDestroy();
  } catch {
    // Not a TCP socket after all (a user-supplied stream): a plain close must do.
  }
  if (socket !== tcp || !socket.destroyed) socket.destroy();
}
