import type { Reply } from '../../protocol/reply.js';
import { reply } from '../../protocol/reply.js';
import type { StageContext } from '../../protocol/types.js';
import type { DelayRange, StageName } from '../delays.js';
import type { AddressPattern } from '../patterns.js';
import { patternToJson } from '../patterns.js';
import { type BlocklistOptions, type BlocklistRestriction, clientAddress, compileBlocklist } from './blocklists.js';
import { type ProviderPresetName, providerPreset } from './providers.js';

export type { BlocklistOptions, BlocklistRestriction } from './blocklists.js';
export { BLOCKLIST_RESTRICTIONS } from './blocklists.js';
export type { ProviderPreset, ProviderPresetName } from './providers.js';
export { PROVIDER_PRESETS, providerPreset, providerPresets } from './providers.js';

/** Reply as a large mailbox provider does: `{ type: 'preset', preset: 'gmail.unknownUser' }`. */
export interface PresetAction {
  type: 'preset';
  preset: ProviderPresetName;
  /** Close the connection after the reply (a 421 always closes). */
  close?: boolean;
  delayMs?: DelayRange;
}

/** Answer as Postfix's `reject_rbl_client` / `reject_rhsbl_*` does when the client, sender or recipient is listed. */
export interface BlocklistAction extends BlocklistOptions {
  type: 'blocklist';
  delayMs?: DelayRange;
}

/** A compiled preset or blocklist action, for the fault rules. */
export interface CompiledPresetAction {
  info: PresetAction | BlocklistAction;
  /** How the rule's firings describe it, e.g. `preset gmail.unknownUser: 550 5.1.1 …`. */
  text: string;
  /** Only sessions this holds for fire the rule (the listed ones), so `nth`/`first` count them alone. */
  applies?: (context: StageContext) => boolean;
  reply(context: StageContext): Reply;
  close: boolean;
}

type Fail = (field: string, what: string) => never;

/** Placeholders of provider texts, and the stages from which each is known. */
const PLACEHOLDERS: Record<string, { stages: readonly string[]; value: (c: StageContext) => string }> = {
  recipient: {
    stages: ['rcpt', 'data', 'message'],
    value: (c) => c.recipient ?? c.transaction?.recipients[0]?.address ?? '',
  },
  senderDomain: {
    stages: ['mail', 'rcpt', 'data', 'message'],
    // The null sender has no domain: SPF then checks the HELO name (RFC 7208 §2.4).
    value: (c) => {
      const sender = c.transaction?.sender ?? '';
      return sender === '' ? (c.heloName ?? '') : sender.slice(sender.lastIndexOf('@') + 1);
    },
  },
  clientAddress: { stages: [], value: (c) => clientAddress(c.connection.remoteAddress) },
};

/** The stage a preset answers at when a rule gives none: the provider's, or RCPT for a blocklist (Postfix's smtpd_delay_reject = yes). */
export function presetStage(action: unknown): StageName | undefined {
  if (typeof action === 'string') return providerPreset(action.trim())?.stage;
  if (typeof action !== 'object' || action === null) return undefined;
  const a = action as { type?: unknown; preset?: unknown };
  if (a.type === 'preset' && typeof a.preset === 'string') return providerPreset(a.preset)?.stage;
  if (a.type === 'blocklist') return 'rcpt';
  return undefined;
}

/** True when the string names a provider preset (the short form of a preset action). */
export function isPresetName(text: string): boolean {
  return providerPreset(text.trim()) !== undefined;
}

/** Checks a `preset` or `blocklist` action for a rule at `stage`. */
export function compilePresetAction(
  action: PresetAction | BlocklistAction,
  stage: string,
  fail: Fail,
): CompiledPresetAction {
  if (action.type === 'blocklist') {
    const list = compileBlocklist(action, stage, fail);
    const info: BlocklistAction = { type: 'blocklist', ...list.info };
    const code = list.info.code;
    return {
      info,
      text: `${list.info.restriction} ${list.info.list}: ${code} ${Math.floor(code / 100)}.7.1 Service unavailable`,
      applies: (c) => list.listedName(c) !== undefined,
      reply: (c) => list.reply(list.listedName(c) ?? ''),
      close: code === 421,
    };
  }
  for (const key of Object.keys(action)) {
    if (!['type', 'preset', 'close', 'delayMs'].includes(key)) {
      fail(`"action.${key}"`, 'is not a field of a preset action (fields: type, preset, close, delayMs)');
    }
  }
  const preset = typeof action.preset === 'string' ? providerPreset(action.preset) : undefined;
  if (preset === undefined) {
    return fail(
      '"action.preset"',
      `must name a provider preset (bounceReplies.providers), got ${JSON.stringify(action.preset)}`,
    );
  }
  if (action.close !== undefined && typeof action.close !== 'boolean') fail('"action.close"', 'must be true or false');
  const parts = preset.text.split(/\{(\w+)\}/);
  for (let i = 1; i < parts.length; i += 2) {
    const known = PLACEHOLDERS[parts[i] as string];
    if (known !== undefined && known.stages.length > 0 && !known.stages.includes(stage)) {
      fail(
        '"stage"',
        `must be one of ${known.stages.join(', ')} for ${preset.name} (its text names the ${parts[i]}, not known at ${stage})`,
      );
    }
  }
  const enhanced = preset.enhanced;
  // A text without placeholders is one frozen reply whose wire bytes are cached.
  const fixed = parts.length === 1 ? reply(preset.code, enhanced, preset.text) : undefined;
  const info: PresetAction = { type: 'preset', preset: preset.name as ProviderPresetName };
  if (action.close !== undefined) info.close = action.close;
  const close = preset.code === 421 || action.close === true;
  return {
    info,
    text: `preset ${preset.name}: ${preset.code}${enhanced === undefined ? '' : ` ${enhanced}`}${close && preset.code !== 421 ? ', then close' : ''}`,
    reply:
      fixed !== undefined
        ? () => fixed
        : (c) =>
            reply(
              preset.code,
              enhanced,
              parts.map((part, i) => (i % 2 === 0 ? part : (PLACEHOLDERS[part]?.value(c) ?? `{${part}}`))).join(''),
            ),
    close,
  };
}

/** Where a preset rule answers and for whom; what `faultRule.preset` and `faultRule.blocklist` take besides the preset. */
export interface PresetRuleOptions {
  /** The stage (default: the preset's own, see `bounceReplies.providers`; RCPT for a blocklist). */
  stage?: StageName;
  /** Only these recipients (a glob or RegExp), e.g. `'*@gone.test'`. */
  recipient?: AddressPattern;
  /** Only these senders. */
  sender?: AddressPattern;
  /** Fire this many times, then stop. Default: until removed. */
  times?: number;
  /** The rule's name (default: given by the sink). */
  name?: string;
}

/** A plain rule object as `faults.ts` takes it (kept structural here so this module does not import the rule set). */
export interface PresetRule {
  name?: string;
  stage?: StageName;
  match?: { recipient?: string; sender?: string; listener?: string };
  action: PresetAction | BlocklistAction;
  times?: number;
}

/** The rule for a provider preset. */
export function presetRule(preset: ProviderPresetName, options: PresetRuleOptions = {}): PresetRule {
  return withOptions({ action: { type: 'preset', preset } }, options);
}

/** The rule for a blocklist. */
export function blocklistRule(blocklist: BlocklistOptions, options: PresetRuleOptions = {}): PresetRule {
  return withOptions({ action: { type: 'blocklist', ...blocklist } }, options);
}

function withOptions(rule: PresetRule, options: PresetRuleOptions): PresetRule {
  if (options.name !== undefined) rule.name = options.name;
  if (options.stage !== undefined) rule.stage = options.stage;
  const match: NonNullable<PresetRule['match']> = {};
  if (options.recipient !== undefined) match.recipient = patternToJson(options.recipient);
  if (options.sender !== undefined) match.sender = patternToJson(options.sender);
  if (Object.keys(match).length > 0) rule.match = match;
  if (options.times !== undefined) rule.times = options.times;
  return rule;
}

/**
 * A real-world rejection in force from the start (option `rejections`, also per listener): a
 * provider preset by name, a preset with where and for whom, or a blocklist.
 *
 * @example startSink({ rejections: ['gmail.mailboxFull', { list: 'zen.spamhaus.org', listed: 'all' }] });
 */
export type Rejection =
  | ProviderPresetName
  | ({ preset: ProviderPresetName } & PresetRuleOptions)
  | (BlocklistOptions & Omit<PresetRuleOptions, 'name'> & { name?: string });

/**
 * The option `rejections` (of the sink, or of one listener) as fault rules. `option` names it in
 * errors (`rejections`, `listeners.smtps.rejections`); `taken` holds rule names already used.
 */
export function rejectionRules(
  rejections: unknown,
  option: string,
  taken: Set<string>,
  listener?: string,
): PresetRule[] {
  const where = 'startSink: option';
  if (!Array.isArray(rejections)) {
    throw new TypeError(
      `${where} "${option}" must be an array such as ["gmail.unknownUser", { "list": "zen.spamhaus.org", "listed": "all" }]`,
    );
  }
  return rejections.map((entry: unknown, i) => {
    const field = `${where} "${option}[${i}]"`;
    let rule: PresetRule;
    if (typeof entry === 'string') {
      if (!isPresetName(entry))
        throw new TypeError(`${field}: "${entry}" is not a provider preset (see bounceReplies.providers)`);
      rule = presetRule(entry.trim() as ProviderPresetName);
    } else if (typeof entry === 'object' && entry !== null && 'preset' in entry) {
      const { preset, ...options } = entry as { preset: ProviderPresetName } & PresetRuleOptions;
      rule = presetRule(preset, options);
    } else if (typeof entry === 'object' && entry !== null && 'list' in entry) {
      const { stage, recipient, sender, times, name, ...blocklist } = entry as BlocklistOptions & PresetRuleOptions;
      rule = blocklistRule(blocklist, { stage, recipient, sender, times, name } as PresetRuleOptions);
    } else {
      throw new TypeError(
        `${field} must be a preset name ("gmail.unknownUser"), { preset, recipient?, stage? } or a blocklist { list, listed, restriction? }`,
      );
    }
    if (listener !== undefined) rule.match = { ...rule.match, listener };
    if (rule.name === undefined) {
      const a = rule.action;
      const base = `${listener === undefined ? '' : `${listener}:`}${a.type === 'preset' ? a.preset : `${a.restriction ?? 'reject_rbl_client'}:${a.list}`}`;
      let name = base;
      for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
      rule.name = name;
    }
    taken.add(rule.name);
    return rule;
  });
}

/** `mailhole serve --fault` short forms of presets and blocklists, for its help. */
export const PRESET_FAULT_FORMS = [
  'PRESET[:RECIPIENT]',
  'rbl:LIST[:CIDR,…]',
  'rhsbl-sender|rhsbl-recipient|rhsbl-helo:LIST[:DOMAIN,…]',
];

const SHORT_RESTRICTIONS: Record<string, BlocklistRestriction> = {
  rbl: 'reject_rbl_client',
  rhsblsender: 'reject_rhsbl_sender',
  rhsblrecipient: 'reject_rhsbl_recipient',
  rhsblhelo: 'reject_rhsbl_helo',
};

/**
 * A `--fault` short form naming a preset (`gmail.unknownUser`, `gmail.unknownUser:*@gone.test`)
 * or a blocklist (`rbl:zen.spamhaus.org:192.0.2.0/24`, `rhsbl-sender:dbl.spamhaus.org:spam.test`);
 * `undefined` when the text is neither. Listed sets default to `all`.
 */
export function presetShortForm(value: string): PresetRule | undefined {
  const colon = value.indexOf(':');
  const head = colon < 0 ? value : value.slice(0, colon);
  const rest = colon < 0 ? undefined : value.slice(colon + 1);
  if (isPresetName(head)) {
    return presetRule(head as ProviderPresetName, rest === undefined || rest === '' ? {} : { recipient: rest });
  }
  const restriction = SHORT_RESTRICTIONS[head.toLowerCase().replace(/-/g, '')];
  if (restriction === undefined) return undefined;
  const listColon = rest?.indexOf(':') ?? -1;
  const list = rest === undefined ? '' : listColon < 0 ? rest : rest.slice(0, listColon);
  const listed = listColon < 0 || rest === undefined ? 'all' : rest.slice(listColon + 1);
  return blocklistRule({ restriction, list, listed: listed === '' ? 'all' : listed });
}
