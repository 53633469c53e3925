/**
 * What an end-to-end test reads out of a mail: the links to follow and the one-time codes to type.
 * Works on the bodies mailparser already decoded (quoted-printable, base64, charsets), so it only
 * has to know HTML and text, not MIME.
 */

/** The decoded bodies the helpers read. */
export interface MessageBodies {
  readonly text: string | undefined;
  readonly html: string | undefined;
}

/** Which link `link()` picks: by its anchor text or by its URL (a substring, or a RegExp). */
export type LinkQuery = { text: string | RegExp; href?: never } | { href: string | RegExp; text?: never };

/** Options of `codes()`. */
export interface CodeOptions {
  /** Exactly this many digits (default: any run of 4 to 8 digits standing on its own). */
  length?: number;
  /** A pattern of your own, e.g. `/code: ([A-Z0-9]{6})/`: its first group (or whole match) is the code. */
  pattern?: RegExp;
}

/** The helpers every parsed message carries, in-process and remote alike. */
export interface MessageHelpers {
  /**
   * The web links of the message (http and https), from the HTML `href`s and the text body,
   * entities decoded, in order of appearance, each once.
   *
   * @example await page.goto(message.links()[0]);
   */
  links(): string[];
  /**
   * The URL of the first link whose anchor text or URL matches; throws, listing the links there
   * are, when none does. A string matches as a case-insensitive substring.
   *
   * @example await page.goto(message.link({ text: 'Sign in' }));
   */
  link(query: LinkQuery): string;
  /**
   * One-time codes in the message, in order, each once: runs of 4 to 8 digits by default (not
   * those inside a URL), exactly `length` digits, or what `pattern` captures.
   *
   * @example await page.fill('#code', message.codes({ length: 6 })[0]);
   */
  codes(options?: CodeOptions): string[];
}

interface Anchor {
  href: string;
  text: string;
}

const ANCHOR = /<a\b([^>]*)>([\s\S]*?)<\/a\s*>/gi;
const HREF = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/i;
const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Decodes the HTML character references a mail template leaves in attribute values and text. */
export function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    }
    return NAMED_ENTITIES[name.toLowerCase()] ?? entity;
  });
}

/** The visible text of an HTML fragment: tags, scripts and styles gone, entities decoded, spaces collapsed. */
export function htmlToText(html: string): string {
  const withoutHidden = html.replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ');
  const lines = withoutHidden.replace(/<br\s*\/?>|<\/(p|div|tr|li|h[1-6])\s*>/gi, '\n').replace(/<[^>]*>/g, ' ');
  return decodeEntities(lines)
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .filter((line) => line !== '')
    .join('\n');
}

function anchors(html: string | undefined): Anchor[] {
  if (html === undefined) return [];
  const out: Anchor[] = [];
  for (const [, attributes = '', inner = ''] of html.matchAll(ANCHOR)) {
    const found = HREF.exec(attributes);
    if (found === null) continue;
    const href = decodeEntities((found[1] ?? found[2] ?? found[3] ?? '').trim());
    if (isWebLink(href)) out.push({ href, text: htmlToText(inner).replace(/\n/g, ' ') });
  }
  return out;
}

function textLinks(text: string | undefined): string[] {
  if (text === undefined) return [];
  return [...text.matchAll(URL_IN_TEXT)].map(([url]) => trimUrl(url));
}

// A URL in prose ends before the punctuation that follows it: "open https://x.test/a." or "(https://x.test/a)".
function trimUrl(url: string): string {
  let end = url.length;
  for (;;) {
    const last = url[end - 1];
    if (last === undefined) break;
    if ('.,;:!?\'"'.includes(last)) end--;
    else if (last === ')' && count(url.slice(0, end), '(') < count(url.slice(0, end), ')')) end--;
    else if ((last === ']' || last === '>') && !url.slice(0, end - 1).includes(last === ']' ? '[' : '<')) end--;
    else break;
  }
  return url.slice(0, end);
}

function count(text: string, char: string): number {
  return text.split(char).length - 1;
}

function isWebLink(href: string): boolean {
  return /^https?:\/\/[^\s]/i.test(href);
}

/** The message's web links: HTML hrefs first, then text-only ones, each once. */
export function messageLinks(bodies: MessageBodies): string[] {
  return [...new Set([...anchors(bodies.html).map((a) => a.href), ...textLinks(bodies.text)])];
}

/** The first link matching `query`; throws a message listing the links there are. */
export function messageLink(bodies: MessageBodies, query: LinkQuery): string {
  const { text, href } = (query ?? {}) as { text?: unknown; href?: unknown };
  if ((text === undefined) === (href === undefined) || !isPattern(text ?? href)) {
    throw new TypeError(
      `link(): give { text } or { href }, each a string or RegExp, e.g. link({ text: 'Sign in' }); got ${describe(query)}`,
    );
  }
  const html = anchors(bodies.html);
  const found =
    text !== undefined
      ? html.find((a) => matches(a.text, text as string | RegExp))
      : [...html.map((a) => a.href), ...textLinks(bodies.text)].find((url) => matches(url, href as string | RegExp));
  const url = typeof found === 'string' ? found : found?.href;
  if (url !== undefined) return url;
  const what =
    text !== undefined ? `anchor text ${show(text as string | RegExp)}` : `URL ${show(href as string | RegExp)}`;
  const seen =
    html.length === 0 && textLinks(bodies.text).length === 0
      ? 'The message has no web link.'
      : `Its links:\n${[
          ...html.map((a) => `  ${a.href} (text ${JSON.stringify(a.text)})`),
          ...textLinks(bodies.text)
            .filter((u) => !html.some((a) => a.href === u))
            .map((u) => `  ${u} (in the text body)`),
        ].join('\n')}`;
  throw new Error(`link(): no link with ${what} in the message. ${seen}`);
}

/** One-time codes in the message's text (or, without a text body, its HTML's visible text). */
export function messageCodes(bodies: MessageBodies, options: CodeOptions = {}): string[] {
  const { length, pattern } = options ?? {};
  if (length !== undefined && (!Number.isInteger(length) || length < 1 || length > 64)) {
    throw new RangeError(
      `codes(): option "length" must be a whole number of digits from 1 to 64, got ${describe(length)}`,
    );
  }
  if (pattern !== undefined && !(pattern instanceof RegExp)) {
    throw new TypeError(
      `codes(): option "pattern" must be a RegExp such as /code: (\\w{6})/, got ${describe(pattern)}`,
    );
  }
  const source = bodies.text ?? (bodies.html === undefined ? '' : htmlToText(bodies.html));
  // Digits in a link (a token, a user id) are not a code the user is asked to type.
  const prose = source.replace(URL_IN_TEXT, ' ');
  const scan =
    pattern !== undefined
      ? new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`)
      : length !== undefined
        ? new RegExp(`(?<![\\p{L}\\p{N}])\\p{Nd}{${length}}(?![\\p{L}\\p{N}])`, 'gu')
        : /(?<![\p{L}\p{N}])\p{Nd}{4,8}(?![\p{L}\p{N}])/gu;
  const codes = [...prose.matchAll(scan)].map((m) => m[1] ?? m[0]).filter((code) => code !== '');
  return [...new Set(codes)];
}

function isPattern(value: unknown): value is string | RegExp {
  return (typeof value === 'string' && value !== '') || value instanceof RegExp;
}

function matches(value: string, query: string | RegExp): boolean {
  if (typeof query === 'string') return value.toLowerCase().includes(query.toLowerCase());
  // A copy without g/y: RegExp.test on those moves lastIndex, and the next call would miss.
  return new RegExp(query.source, query.flags.replace(/[gy]/g, '')).test(value);
}

function show(query: string | RegExp): string {
  return typeof query === 'string' ? `containing ${JSON.stringify(query)}` : `matching ${String(query)}`;
}

function describe(value: unknown): string {
  if (value instanceof RegExp) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Gives `bodies` the message helpers as non-enumerable methods: spreading the object or turning
 * it into JSON copies only its data.
 */
export function withMessageHelpers<T extends MessageBodies>(bodies: T): T & MessageHelpers {
  const helpers: MessageHelpers = {
    links: () => messageLinks(bodies),
    link: (query) => messageLink(bodies, query),
    codes: (options) => messageCodes(bodies, options),
  };
  for (const [name, value] of Object.entries(helpers)) {
    Object.defineProperty(bodies, name, { value, enumerable: false, configurable: true, writable: true });
  }
  return bodies as T & MessageHelpers;
}
