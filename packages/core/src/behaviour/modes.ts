import { isPositive, type Reply } from '../protocol/reply.js';
import type { Random } from './random.js';
import { bounceReplies } from './replies.js';

/**
 * How the sink answers the end of a message, as in the black-hole MTA: `accept` (250),
 * `bounce` (a reply picked from the bounce set 450 … 571), or `random` (accept with the
 * accept ratio, else bounce).
 */
export type Mode = 'accept' | 'bounce' | 'random';

export const MODES: readonly Mode[] = ['accept', 'bounce', 'random'];

/** Default share of accepted messages in `random` mode. */
export const DEFAULT_ACCEPT_RATIO = 0.5;

/**
 * The final reply for a message under `mode`. A refusal the engine already decided (message too
 * big, line too long) is kept: a mode only replaces an acceptance.
 */
export function modeReply(mode: Mode, acceptRatio: number, proposed: Reply, random: Random): Reply {
  if (mode === 'accept' || !isPositive(proposed)) return proposed;
  // Both draws happen in random mode whatever the outcome, so the sequence stays aligned per message.
  const accept = mode === 'random' ? random() < acceptRatio : false;
  const bounce = bounceReplies[Math.floor(random() * bounceReplies.length)] as Reply;
  return accept ? proposed : bounce;
}
