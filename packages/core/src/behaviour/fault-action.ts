import { type Reply, replyToString } from '../protocol/reply.js';
import type { Decision, Stage, StageContext } from '../protocol/types.js';
import { type DelayRange, toDelayRange } from './delays.js';
import type { Fail } from './fault-match.js';
import type { FaultAction } from './fault-rule.js';
import { compilePresetAction, isPresetName, type ProviderPresetName } from './presets/index.js';
import { between, type Random } from './random.js';
import { behaviourReplies, parseReply } from './replies.js';

// Actions: a rule's `action` (a `FaultAction`, a reply string, a word or a preset) checked,
// normalized and turned into the decision it makes when it fires.

/** @internal checks and normalizes a rule's `action` (a `FaultAction`, a reply string, or a word). */
export function normalizeAction(
  action: FaultAction | string,
  stage: Stage,
  fail: Fail,
): {
  info: FaultAction;
  text: string;
  applies?: ((context: StageContext) => boolean) | undefined;
  decide: (random: Random, context: StageContext) => Decision;
} {
  if (typeof action === 'string') {
    const word = action.trim().toLowerCase();
    if (word === 'disconnect' || word === 'close' || word === 'reset')
      return normalizeAction({ type: word }, stage, fail);
    if (isPresetName(action))
      return normalizeAction({ type: 'preset', preset: action.trim() as ProviderPresetName }, stage, fail);
    const parsed = parseReply(action);
    if (typeof parsed === 'string') {
      return fail(
        '"action"',
        `as a string must be a reply such as "451 4.3.0 Try again later", or disconnect, close, reset; it ${parsed}`,
      );
    }
    return normalizeAction(replyAction(parsed), stage, fail);
  }
  if (typeof action !== 'object' || action === null) {
    return fail('"action"', 'must be an object such as { type: "reply", code: 451 } or a short form such as "451"');
  }
  const delay = (value: unknown, field: string): readonly [number, number] | undefined => {
    if (value === undefined) return undefined;
    return (
      toDelayRange(value) ??
      fail(`"action.${field}"`, 'must be whole milliseconds (0 to 3600000) or a [min, max] range')
    );
  };
  const withDelay = (decision: Decision, range: readonly [number, number] | undefined, random: Random): Decision => {
    if (range !== undefined) decision.delayMs = between(random, range[0], range[1]);
    return decision;
  };
  const delayText = (range: readonly [number, number] | undefined): string =>
    range === undefined ? '' : ` after ${range[0] === range[1] ? range[0] : `${range[0]}-${range[1]}`} ms`;

  switch (action.type) {
    case 'reply':
    case 'disconnect': {
      const isDisconnect = action.type === 'disconnect';
      const code = action.code ?? (isDisconnect ? 421 : undefined);
      if (typeof code !== 'number') return fail('"action.code"', 'is required for a reply, e.g. 451');
      let reply: Reply;
      try {
        reply = behaviourReplies.custom(code, action.enhanced, action.text);
      } catch (error) {
        return fail('"action"', `has a bad reply: ${(error as Error).message}`);
      }
      if (stage === 'message' && reply.code >= 300 && reply.code < 400) {
        fail('"action.code"', 'at stage "message" must be 2xx, 4xx or 5xx (the final reply to a message)');
      }
      // RFC 5321 §3.8: a 421 reply closes the channel, whatever the rule says.
      const close = isDisconnect || reply.code === 421 || (action.type === 'reply' && action.close === true);
      const range = delay(action.delayMs, 'delayMs');
      const enhanced = reply.enhanced === undefined ? {} : { enhanced: reply.enhanced };
      const info: FaultAction = isDisconnect
        ? { type: 'disconnect', code: reply.code, ...enhanced, text: reply.text as string }
        : { type: 'reply', code: reply.code, ...enhanced, text: reply.text as string, ...(close ? { close } : {}) };
      if (action.delayMs !== undefined) info.delayMs = action.delayMs;
      const text = `${isDisconnect ? 'disconnect' : 'reply'} ${replyToString(reply)}${close && !isDisconnect ? ', then close' : ''}${delayText(range)}`;
      return {
        info,
        text,
        decide: (random) => withDelay(close ? { reply, then: 'close' } : { reply }, range, random),
      };
    }
    case 'close':
    case 'reset': {
      const type = action.type;
      const range = delay(action.delayMs, 'delayMs');
      const info: { type: 'close' | 'reset'; delayMs?: DelayRange } = { type };
      if (action.delayMs !== undefined) info.delayMs = action.delayMs;
      return {
        info,
        text: `${type === 'close' ? 'close without a reply' : 'TCP reset'}${delayText(range)}`,
        decide: (random) => withDelay({ then: type === 'close' ? 'silent-close' : 'reset' }, range, random),
      };
    }
    case 'delay': {
      const range = delay(action.ms, 'ms') ?? fail('"action.ms"', 'is required: milliseconds or [min, max]');
      return {
        info: { type: 'delay', ms: action.ms },
        text: `delay${delayText(range).replace(' after', '')}`,
        decide: (random) => withDelay({}, range, random),
      };
    }
    case 'throttle': {
      const rate = action.bytesPerSecond;
      if (!Number.isInteger(rate) || rate < 1)
        fail('"action.bytesPerSecond"', `must be a whole number >= 1, got ${rate}`);
      return {
        info: { type: 'throttle', bytesPerSecond: rate },
        text: `throttle to ${rate} octets/s`,
        decide: () => ({ throttleBytesPerSecond: rate }),
      };
    }
    case 'stall': {
      const after = action.afterBytes;
      if (!Number.isInteger(after) || after < 0)
        fail('"action.afterBytes"', `must be a whole number >= 0, got ${after}`);
      return {
        info: { type: 'stall', afterBytes: after },
        text: `stop reading after ${after} octets`,
        decide: () => ({ stallAfterBytes: after }),
      };
    }
    case 'preset':
    case 'blocklist': {
      const preset = compilePresetAction(action, stage, fail);
      const range = delay(action.delayMs, 'delayMs');
      const info: FaultAction = { ...preset.info };
      if (action.delayMs !== undefined) info.delayMs = action.delayMs;
      const then = preset.close ? { then: 'close' as const } : {};
      return {
        info,
        text: `${preset.text}${delayText(range)}`,
        applies: preset.applies,
        decide: (random, context) => withDelay({ reply: preset.reply(context), ...then }, range, random),
      };
    }
    default:
      return fail(
        '"action.type"',
        `must be "reply", "disconnect", "close", "reset", "delay", "throttle", "stall", "preset" or "blocklist", got ${JSON.stringify((action as { type?: unknown }).type)}`,
      );
  }
}

/** A parsed reply as a `reply` action. */
export function replyAction(reply: Reply): FaultAction {
  const enhanced = reply.enhanced === undefined ? {} : { enhanced: reply.enhanced };
  return { type: 'reply', code: reply.code, ...enhanced, text: reply.text as string };
}
