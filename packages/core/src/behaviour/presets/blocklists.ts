import { BlockList, isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { type Reply, reply } from '../../protocol/reply.js';
import type { StageContext } from '../../protocol/types.js';
import type { StageName } from '../delays.js';

/**
 * The Postfix restrictions a blocklist preset plays (postconf(5)): which name is looked up, and
 * what the reply calls it (`$rbl_class`, smtpd_dsn_fix.h).
 */
export const BLOCKLIST_RESTRICTIONS = {
  /** The client's IP address on a DNSBL. */
  reject_rbl_client: { what: 'client address', class: 'Client host' },
  /** The client's host name (as reverse DNS would give it: option `clientName`) on an RHSBL. */
  reject_rhsbl_client: { what: 'client name', class: 'Client host' },
  /** The HELO/EHLO name on an RHSBL. */
  reject_rhsbl_helo: { what: 'HELO name', class: 'Helo command' },
  /** The domain of the `MAIL FROM` address on an RHSBL (the null sender is never looked up). */
  reject_rhsbl_sender: { what: 'sender domain', class: 'Sender address' },
  /** The domain of the `RCPT TO` address on an RHSBL. */
  reject_rhsbl_recipient: { what: 'recipient domain', class: 'Recipient address' },
} as const;

export type BlocklistRestriction = keyof typeof BLOCKLIST_RESTRICTIONS;

/**
 * A blocklist the sink pretends to consult, answering as Postfix's `reject_rbl_client` /
 * `reject_rhsbl_*` does when the name is listed. Which names are listed is yours to say; no DNS
 * query is ever made.
 *
 * @example faultRule.blocklist({ restriction: 'reject_rbl_client', list: 'zen.spamhaus.org', listed: ['127.0.0.0/8'] })
 */
export interface BlocklistOptions {
  /** The Postfix restriction to play. Default `reject_rbl_client`. */
  restriction?: BlocklistRestriction;
  /** The list's DNS zone as main.cf names it, e.g. `zen.spamhaus.org` (a `=127.0.0.2` suffix is dropped from the reply, as Postfix does). */
  list: string;
  /**
   * What is listed: `all`, or for `reject_rbl_client` IP addresses and CIDR ranges (`192.0.2.0/24`,
   * `2001:db8::/32`), for the `reject_rhsbl_*` ones domains (a domain lists its subdomains too).
   */
  listed: 'all' | string | readonly string[];
  /** The list's TXT record, shown after `; ` as `$rbl_reason`. Default: none (Postfix then shows nothing). */
  reason?: string;
  /** `$rbl_code` (Postfix's `maps_rbl_reject_code`): a 4xx or 5xx. Default 554. */
  code?: number;
  /** `reject_rhsbl_client` only: the client host name the sink pretends reverse DNS gave (no lookup is made). */
  clientName?: string;
}

/** Postfix's `maps_rbl_reject_code` default (mail_params.h: DEF_MAPS_RBL_CODE). */
export const DEFAULT_RBL_CODE = 554;

/**
 * Postfix's `default_rbl_reply` (mail_params.h: DEF_DEF_RBL_REPLY), here as data:
 * `$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}`.
 * Postfix (smtpd_check.c rbl_reject_reply) then gives it the DSN 4.7.1 with the class of the code,
 * and smtpd_check_reject truncates the reply line to 510 characters.
 */
export function rblReply(code: number, rblClass: string, what: string, domain: string, reason: string): Reply {
  const text = `Service unavailable; ${rblClass} [${what}] blocked using ${domain}${reason === '' ? '' : `; ${reason}`}`;
  const enhanced = `${Math.floor(code / 100)}.7.1`;
  // "554 5.7.1 " is 10 characters of the 510 Postfix allows.
  return reply(code, enhanced, printable(text).slice(0, 500));
}

/**
 * Postfix's printable() as smtpd_check_reject calls it: control characters become spaces, so text
 * from a TXT record can never end the reply line; UTF-8 stays, as with Postfix's default smtputf8_enable.
 */
function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ');
}

/** The stages at which each restriction's name is known (Postfix evaluates a restriction in a later list too). */
const STAGES: Record<BlocklistRestriction, readonly StageName[]> = {
  reject_rbl_client: ['connect', 'helo', 'mail', 'rcpt', 'data'],
  reject_rhsbl_client: ['connect', 'helo', 'mail', 'rcpt', 'data'],
  reject_rhsbl_helo: ['helo', 'mail', 'rcpt', 'data'],
  reject_rhsbl_sender: ['mail', 'rcpt', 'data'],
  reject_rhsbl_recipient: ['rcpt'],
};

/** A checked blocklist: whether a session is listed, and the reply it then gets. */
export interface CompiledBlocklist {
  readonly info: Required<Pick<BlocklistOptions, 'restriction' | 'list' | 'code'>> &
    Pick<BlocklistOptions, 'reason' | 'clientName'> & { listed: 'all' | string[] };
  /** The looked-up name when it is listed (`$rbl_what`), else `undefined`. */
  listedName(context: StageContext): string | undefined;
  reply(what: string): Reply;
}

/**
 * Checks blocklist options. `fail(field, what)` throws with the field named; `stage` is the rule's
 * stage, checked against where the restriction's name is known.
 */
export function compileBlocklist(
  options: BlocklistOptions,
  stage: string,
  fail: (field: string, what: string) => never,
): CompiledBlocklist {
  if (typeof options !== 'object' || options === null) fail('"action"', 'must be { type: "blocklist", list, listed }');
  const known = ['type', 'restriction', 'list', 'listed', 'reason', 'code', 'clientName', 'delayMs'];
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      fail(`"action.${key}"`, `is not a blocklist option (options: ${known.slice(1).join(', ')})`);
  }
  const restriction = options.restriction ?? 'reject_rbl_client';
  if (!Object.hasOwn(BLOCKLIST_RESTRICTIONS, restriction)) {
    fail(
      '"action.restriction"',
      `must be one of ${Object.keys(BLOCKLIST_RESTRICTIONS).join(', ')}, got ${JSON.stringify(restriction)}`,
    );
  }
  const allowed = STAGES[restriction];
  if (!allowed.includes(stage as StageName)) {
    fail(
      '"stage"',
      `must be one of ${allowed.join(', ')} for ${restriction} (the ${BLOCKLIST_RESTRICTIONS[restriction].what} is not known at ${stage})`,
    );
  }
  const list = options.list;
  if (typeof list !== 'string' || !/^[A-Za-z0-9_.-]+(=[0-9.[\];]+)?$/.test(list) || list.length > 253) {
    fail('"action.list"', `must be the list's DNS zone, such as "zen.spamhaus.org", got ${JSON.stringify(list)}`);
  }
  const code = options.code ?? DEFAULT_RBL_CODE;
  if (!Number.isInteger(code) || code < 400 || code > 599) {
    fail(
      '"action.code"',
      `must be a 4xx or 5xx reply code (Postfix's maps_rbl_reject_code), got ${JSON.stringify(code)}`,
    );
  }
  const reason = options.reason ?? '';
  if (typeof reason !== 'string' || reason.length > 500)
    fail('"action.reason"', 'must be a string of at most 500 characters');
  const isClientName = restriction === 'reject_rhsbl_client';
  if (isClientName !== (options.clientName !== undefined)) {
    fail(
      '"action.clientName"',
      isClientName
        ? 'is required for reject_rhsbl_client: the host name the client pretends to resolve to, e.g. "mail.spam.test"'
        : `is only for reject_rhsbl_client, not ${restriction}`,
    );
  }
  const raw = options.listed;
  const entries = typeof raw === 'string' ? (raw === 'all' ? 'all' : raw.split(',').map((s) => s.trim())) : raw;
  if (
    entries !== 'all' &&
    (!Array.isArray(entries) || entries.length === 0 || !entries.every((e) => typeof e === 'string' && e !== ''))
  ) {
    fail(
      '"action.listed"',
      'must be "all" or a non-empty list of addresses/CIDR ranges (reject_rbl_client) or domains',
    );
  }
  const listed = entries === 'all' ? 'all' : [...(entries as string[])];
  // $rbl_domain: the zone without its "=d.d.d.d" reply filter (smtpd_check.c split_at(..., '=')).
  const domain = list.split('=')[0] as string;
  const info: CompiledBlocklist['info'] = { restriction, list, code, listed };
  if (options.reason !== undefined) info.reason = options.reason;
  if (options.clientName !== undefined) info.clientName = options.clientName;
  const rblClass = BLOCKLIST_RESTRICTIONS[restriction].class;

  let isListed: (name: string) => boolean;
  if (listed === 'all') isListed = () => true;
  else if (restriction === 'reject_rbl_client') isListed = addressSet(listed, fail);
  else isListed = domainSet(listed, fail);

  let name: (context: StageContext) => string | undefined;
  switch (restriction) {
    case 'reject_rbl_client':
      name = (c) => clientAddress(c.connection.remoteAddress);
      break;
    case 'reject_rhsbl_client': {
      const clientName = options.clientName as string;
      if (typeof clientName !== 'string' || rhsDomain(clientName) === undefined) {
        fail('"action.clientName"', `must be a host name such as "mail.spam.test", got ${JSON.stringify(clientName)}`);
      }
      name = () => clientName;
      break;
    }
    case 'reject_rhsbl_helo':
      name = (c) => c.heloName;
      break;
    case 'reject_rhsbl_sender':
      // Postfix skips the null sender (`state->sender && *state->sender`).
      name = (c) => (c.transaction?.sender ? c.transaction.sender : undefined);
      break;
    case 'reject_rhsbl_recipient':
      name = (c) => c.recipient;
      break;
  }
  const lookup = restriction === 'reject_rbl_client' ? (what: string) => what : rhsDomain;
  return {
    info,
    listedName: (context) => {
      const what = name(context);
      if (what === undefined) return undefined;
      const key = lookup(what);
      return key !== undefined && isListed(key) ? what : undefined;
    },
    reply: (what) => rblReply(code, rblClass, what, domain, reason),
  };
}

/** The client address as Postfix shows it: an IPv4-mapped IPv6 address is plain IPv4. */
export function clientAddress(remote: string): string {
  return remote.startsWith('::ffff:') && isIP(remote.slice(7)) === 4 ? remote.slice(7) : remote;
}

/**
 * The domain an RHSBL looks up, as Postfix's find_dnsxl_domain picks it: the part after the last `@`
 * (an address literal is not looked up), not all digits at the end, in ASCII (IDNA).
 */
function rhsDomain(what: string): string | undefined {
  const at = what.lastIndexOf('@');
  const domain = at < 0 ? what : what.slice(at + 1);
  if (domain === '' || domain.startsWith('[')) return undefined;
  const last = domain.slice(domain.lastIndexOf('.') + 1);
  if (/^\d*$/.test(last)) return undefined;
  const ascii = domainToASCII(domain.toLowerCase());
  return ascii === '' ? undefined : ascii.replace(/\.$/, '');
}

function addressSet(
  entries: readonly string[],
  fail: (field: string, what: string) => never,
): (address: string) => boolean {
  const set = new BlockList();
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const prefix = Number(bits);
    if (
      extra !== undefined ||
      family === 0 ||
      (bits !== undefined && (!/^\d{1,3}$/.test(bits) || prefix > (family === 4 ? 32 : 128)))
    ) {
      fail(
        '"action.listed"',
        `must hold IP addresses or CIDR ranges such as "192.0.2.0/24", got ${JSON.stringify(entry)}`,
      );
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) set.addAddress(address as string, type);
    else set.addSubnet(address as string, prefix, type);
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && set.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
}

function domainSet(
  entries: readonly string[],
  fail: (field: string, what: string) => never,
): (domain: string) => boolean {
  const domains = new Set<string>();
  for (const entry of entries) {
    const domain = rhsDomain(entry.replace(/^\*\./, ''));
    if (domain === undefined || entry.includes('@')) {
      fail('"action.listed"', `must hold domains such as "spam.example", got ${JSON.stringify(entry)}`);
    }
    domains.add(domain as string);
  }
  return (domain) => {
    // A listed domain lists its subdomains too: spam.example lists mail.spam.example.
    let d = domain;
    for (;;) {
      if (domains.has(d)) return true;
      const dot = d.indexOf('.');
      if (dot < 0) return false;
      d = d.slice(dot + 1);
    }
  };
}
