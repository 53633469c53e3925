import { parseHeaderSection } from '../protocol/header-section.js';
import type { Reply } from '../protocol/reply.js';
import { MODES, type Mode } from './modes.js';
import { parseReply } from './replies.js';

/** Longest delay a header switch can ask for, as in the black-hole MTA. */
export const MAX_SWITCH_DELAY_MS = 60_000;

/**
 * What the header section of one message asks of its final reply: black-hole MTA switches
 * (`X-Blackhole-Mode`, `X-Blackhole-Delay`) and their `X-Mailhole-*` equivalents, plus
 * `X-Mailhole-Reply` and `X-Mailhole-Accept-Ratio`. `X-Mailhole-*` wins when both are present.
 */
export interface HeaderSwitches {
  mode?: Mode;
  /** `[min, max]` milliseconds. */
  delay?: readonly [number, number];
  reply?: Reply;
  acceptRatio?: number;
}

/** A switch with a value the sink cannot use: the message is refused with the reason, so the typo shows. */
export interface BadSwitch {
  header: string;
  why: string;
}

const NAMES = {
  mode: ['x-mailhole-mode', 'x-blackhole-mode'],
  delay: ['x-mailhole-delay', 'x-blackhole-delay'],
  reply: ['x-mailhole-reply'],
  acceptRatio: ['x-mailhole-accept-ratio'],
} as const;

const DISPLAY: Record<string, string> = {
  'x-mailhole-mode': 'X-Mailhole-Mode',
  'x-blackhole-mode': 'X-Blackhole-Mode',
  'x-mailhole-delay': 'X-Mailhole-Delay',
  'x-blackhole-delay': 'X-Blackhole-Delay',
  'x-mailhole-reply': 'X-Mailhole-Reply',
  'x-mailhole-accept-ratio': 'X-Mailhole-Accept-Ratio',
};

/**
 * Reads the switches from a raw header section (never from the body: the session hands over the
 * header section only). `undefined` when the message carries none.
 */
export function readHeaderSwitches(headerSection: Buffer): HeaderSwitches | BadSwitch | undefined {
  // Most messages carry no switch: a scan of the raw bytes spares them the header parse.
  const lower = headerSection.toString('latin1').toLowerCase();
  if (!lower.includes('x-blackhole-') && !lower.includes('x-mailhole-')) return undefined;
  const headers = parseHeaderSection(headerSection);
  const first = (names: readonly string[]): [string, string] | undefined => {
    for (const name of names) {
      const value = headers[name]?.[0];
      if (value !== undefined) return [DISPLAY[name] ?? name, value];
    }
    return undefined;
  };
  const out: HeaderSwitches = {};
  let any = false;

  const mode = first(NAMES.mode);
  if (mode !== undefined) {
    const value = mode[1].toLowerCase();
    if (!(MODES as readonly string[]).includes(value)) return { header: mode[0], why: 'use accept, bounce or random' };
    out.mode = value as Mode;
    any = true;
  }
  const delay = first(NAMES.delay);
  if (delay !== undefined) {
    const range = parseDelay(delay[1]);
    if (typeof range === 'string') return { header: delay[0], why: range };
    out.delay = range;
    any = true;
  }
  const replyHeader = first(NAMES.reply);
  if (replyHeader !== undefined) {
    const parsed = parseReply(replyHeader[1]);
    if (typeof parsed === 'string') return { header: replyHeader[0], why: parsed };
    if (parsed.code >= 300 && parsed.code < 400) {
      return { header: replyHeader[0], why: 'the final reply to a message must be 2xx, 4xx or 5xx' };
    }
    out.reply = parsed;
    any = true;
  }
  const ratio = first(NAMES.acceptRatio);
  if (ratio !== undefined) {
    const value = Number(ratio[1]);
    if (ratio[1] === '' || !Number.isFinite(value) || value < 0 || value > 1) {
      return { header: ratio[0], why: 'use a number from 0 to 1, e.g. 0.25' };
    }
    out.acceptRatio = value;
    any = true;
  }
  return any ? out : undefined;
}

/** `N` or `MIN, MAX` in seconds (fractions allowed), each capped at 60 s like the black-hole MTA. */
function parseDelay(text: string): readonly [number, number] | string {
  const parts = text.split(',').map((p) => p.trim());
  const seconds = parts.map((p) => (/^\d+(?:\.\d+)?$/.test(p) ? Number(p) : Number.NaN));
  if ((parts.length !== 1 && parts.length !== 2) || seconds.some(Number.isNaN)) {
    return 'use seconds as N or MIN, MAX, e.g. "5" or "1, 10"';
  }
  const ms = seconds.map((s) => Math.min(Math.round(s * 1000), MAX_SWITCH_DELAY_MS));
  const min = ms[0] as number;
  const max = ms[1] ?? min;
  if (min > max) return 'MIN must not be greater than MAX';
  return [min, max];
}
