import fc from 'fast-check';
import { createAuthProvider } from '../src/behaviour/auth.js';
import { formatReply, isPositive, type Reply, reply } from '../src/protocol/reply.js';
import { type SessionOptions, SmtpSession } from '../src/protocol/session.js';
import type {
  ConnectionInfo,
  Decision,
  Delivery,
  FiredFault,
  MessageWriter,
  SessionObserver,
  SessionOutput,
  StagePolicy,
  Transaction,
} from '../src/protocol/types.js';
import { smugglingMarkers } from './smuggling.js';

/**
 * Shared by the property-*.test.ts files: client traffic as fast-check arbitraries (raw bytes and
 * SMTP-shaped streams with mutations), and a runner that feeds a stream to a session in pieces
 * and keeps everything it did.
 */

// --- traffic -------------------------------------------------------------------------------------

/** Bytes as a latin1 string: one char a byte, so any octet can be written and concatenated. */
const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
const utf8AsLatin1 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

const domain = fc.constantFrom(
  'client.test',
  'a',
  '[127.0.0.1]',
  '[IPv6:::1]',
  'xn--bcher-kva.example',
  utf8AsLatin1('bücher.example'),
  '',
  'two words',
  '-bad-.test',
);

const address = fc.constantFrom(
  'a@b.c',
  'user@sink.test',
  'postmaster',
  'Postmaster',
  '',
  '"quoted local"@x.test',
  '"unterminated@x.test',
  'a@b@c',
  '@route,@other:user@x.test',
  utf8AsLatin1('ü@x.de'),
  `${'l'.repeat(70)}@x.test`,
  'no-at-sign',
  'a@[127.0.0.1]',
);

const mailParameter = fc.constantFrom(
  'SIZE=100',
  'SIZE=0',
  'SIZE=99999999999999999',
  'SIZE=x',
  'BODY=8BITMIME',
  'BODY=BINARYMIME',
  'BODY=7BIT',
  'BODY=NONSENSE',
  'SMTPUTF8',
  'RET=FULL',
  'RET=HDRS',
  'ENVID=abc+2B',
  'AUTH=<>',
  'FOO=bar',
  '=',
);

const rcptParameter = fc.constantFrom(
  'NOTIFY=SUCCESS,FAILURE',
  'NOTIFY=NEVER',
  'NOTIFY=NEVER,DELAY',
  'ORCPT=rfc822;a@b.c',
  'X=1',
);

const base64 = fc.oneof(
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('base64')),
  fc.constantFrom(
    'AHVAcA==',
    'AHUAcA==',
    '=',
    '====',
    'A',
    'AB=C',
    '!!!!',
    'dXNlcg',
    'dXNlcg==extra',
    utf8AsLatin1('ü==='),
  ),
);

/** One command line, valid or not, CRLF included. */
const commandLine: fc.Arbitrary<string> = fc.oneof(
  domain.map((d) => `EHLO ${d}\r\n`),
  domain.map((d) => `HELO ${d}\r\n`),
  domain.map((d) => `LHLO ${d}\r\n`),
  fc
    .tuple(address, fc.array(mailParameter, { maxLength: 3 }))
    .map(([a, p]) => `MAIL FROM:<${a}>${p.map((x) => ` ${x}`).join('')}\r\n`),
  fc
    .tuple(address, fc.array(rcptParameter, { maxLength: 2 }))
    .map(([a, p]) => `RCPT TO:<${a}>${p.map((x) => ` ${x}`).join('')}\r\n`),
  fc.constantFrom(
    'MAIL FROM:<>\r\n',
    'MAIL FROM: <a@b.c>\r\n',
    'MAIL FROM:a@b.c\r\n',
    'RCPT TO:<postmaster>\r\n',
    'RSET\r\n',
    'RSET now\r\n',
    'NOOP\r\n',
    'NOOP anything\r\n',
    'QUIT\r\n',
    'VRFY someone\r\n',
    'EXPN list\r\n',
    'HELP\r\n',
    'STARTTLS\r\n',
    'DATA now\r\n',
    'GET / HTTP/1.1\r\n',
    'AUTH LOGIN\r\n',
    'AUTH CRAM-MD5\r\n',
    'AUTH XOAUTH2\r\n',
    'AUTH UNKNOWN\r\n',
    'AUTH\r\n',
    '*\r\n',
    '\r\n',
    ' \r\n',
  ),
  base64.map((b) => `AUTH PLAIN ${b}\r\n`),
  base64.map((b) => `${b}\r\n`),
  fc.uint8Array({ maxLength: 20 }).map((b) => `${latin1(b)}\r\n`),
);

/** A message body line: text, dots, bare CR and bare LF, and every smuggling shape of the end marker. */
const bodyPiece = fc.oneof(
  fc.constantFrom(
    'Subject: hi\r\n',
    'text\r\n',
    '\r\n',
    '.\n',
    '..\r\n',
    '..stuffed\r\n',
    '.x\r\n',
    'bare\rcr\r\n',
    'bare\nlf\r\n',
    ...smugglingMarkers,
    '.\r\r\n',
    '.\rx\r\n',
    'MAIL FROM:<smuggled@evil.test>\r\n',
  ),
  fc.uint8Array({ maxLength: 30 }).map(latin1),
  fc.integer({ min: 90, max: 260 }).map((n) => `${'L'.repeat(n)}\r\n`),
);

/** DATA, its body, and (usually) the end of data. */
const dataBlock = fc
  .tuple(fc.array(bodyPiece, { maxLength: 8 }), fc.constantFrom('\r\n.\r\n', '.\r\n', '\r\n.\r\n', ''))
  .map(([body, end]) => `DATA\r\n${body.join('')}${end}`);

/** BDAT with a size that matches its octets, or one that does not. */
const bdatBlock = fc
  .tuple(fc.uint8Array({ maxLength: 60 }), fc.boolean(), fc.integer({ min: -3, max: 3 }), fc.nat(9))
  .map(([octets, last, skew, wrong]) => {
    const size = wrong === 0 ? Math.max(0, octets.length + skew) : octets.length;
    return `BDAT ${size}${last ? ' LAST' : ''}\r\n${latin1(octets)}`;
  });

const badBdat = fc.constantFrom('BDAT\r\n', 'BDAT x\r\n', 'BDAT -1\r\n', 'BDAT 1 FIRST\r\nx', 'BDAT 0 LAST\r\n');

const overlong = fc
  .tuple(fc.integer({ min: 500, max: 3000 }), fc.boolean())
  .map(([n, crlf]) => `NOOP ${'x'.repeat(n)}${crlf ? '\r\n' : ''}`);

/** A whole valid transaction, so streams reach DATA and BDAT often. */
const transaction = fc
  .tuple(
    address,
    address,
    fc.oneof(
      dataBlock,
      bdatBlock.map((b) => b.replace(/^BDAT (\d+)\r\n/, 'BDAT $1 LAST\r\n')),
    ),
  )
  .map(([from, to, message]) => `MAIL FROM:<${from}>\r\nRCPT TO:<${to}>\r\n${message}`);

/** Changes a piece the way a buggy or hostile client would. */
function mutate(piece: string, kind: number, at: number, byte: number): string {
  const i = piece.length === 0 ? 0 : at % (piece.length + 1);
  switch (kind) {
    case 1:
      return piece.slice(0, i) + String.fromCharCode(byte) + piece.slice(i);
    case 2:
      return piece.slice(0, i) + piece.slice(i + 1);
    case 3:
      return piece.replace(/\r\n/g, '\n');
    case 4:
      return piece.slice(0, i);
    case 5:
      return piece.toLowerCase();
    case 6:
      return piece + piece;
    default:
      return piece;
  }
}

const piece = fc.oneof(
  { arbitrary: commandLine, weight: 5 },
  { arbitrary: transaction, weight: 6 },
  { arbitrary: dataBlock, weight: 2 },
  { arbitrary: bdatBlock, weight: 2 },
  { arbitrary: badBdat, weight: 1 },
  { arbitrary: overlong, weight: 1 },
);

const mutatedPiece = fc
  .tuple(
    piece,
    fc.oneof({ arbitrary: fc.constant(0), weight: 6 }, { arbitrary: fc.integer({ min: 1, max: 6 }), weight: 1 }),
    fc.nat(),
    fc.nat(255),
  )
  .map(([p, kind, at, byte]) => mutate(p, kind, at, byte));

/** SMTP-shaped client traffic: a greeting, then commands, transactions, DATA and BDAT, some mutated. */
export const smtpStream: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.constantFrom('EHLO client.test\r\n', 'HELO client.test\r\n', 'LHLO client.test\r\n', ''),
    fc.array(mutatedPiece, { maxLength: 14 }),
  )
  .map(([hello, pieces]) => Buffer.from(hello + pieces.join(''), 'latin1'));

/** Any bytes at all, sometimes after a valid start so the random part reaches deeper states. */
export const randomStream: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.constantFrom(
      '',
      'EHLO x\r\n',
      'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n',
      'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 100\r\n',
    ),
    fc.uint8Array({ maxLength: 1500, size: 'medium' }),
    fc.constantFrom('', '\r\n.\r\n'),
  )
  .map(([start, bytes, end]) => Buffer.concat([Buffer.from(start, 'latin1'), bytes, Buffer.from(end, 'latin1')]));

/** Offsets to cut a stream of `length` octets at (sorted, unique, inside the stream). */
export function cutsOf(length: number, raw: readonly number[]): number[] {
  if (length < 2) return [];
  return [...new Set(raw.map((r) => 1 + (r % (length - 1))))].sort((a, b) => a - b);
}

/** Raw cut offsets: none, a few, or many. */
export const rawCuts = fc.array(fc.nat(), { maxLength: 40 });

// --- session set-ups -------------------------------------------------------------------------------

const tempFail = reply(451, '4.3.0', 'Try again later');
const permFail = reply(550, '5.7.1', 'Refused by policy');
const closing = reply(421, '4.3.2', 'Going away');

/**
 * A policy that answers from a fixed script, one entry per decision: deterministic, so two runs
 * that reach the same stages in the same order decide the same, however the bytes were split.
 */
function scriptedPolicy(script: readonly number[]): StagePolicy {
  let i = 0;
  return {
    wantsHeaders: true,
    decide(context) {
      const pick = script[i++ % script.length] ?? 0;
      switch (pick) {
        case 1:
          return { reply: tempFail };
        case 2:
          return { reply: permFail };
        case 3:
          return { delayMs: 5 };
        case 4:
          return context.stage === 'message' ? { reply: tempFail, then: 'close' } : undefined;
        case 5:
          return { reply: closing };
        case 6:
          return { then: 'reset' };
        case 7:
          return { then: 'silent-close' };
        case 8: {
          const fault: FiredFault = { rule: 'scripted', stage: context.stage, action: 'delay', at: 0 };
          return { delayMs: 1, fault, throttleBytesPerSecond: 1000 } satisfies Decision;
        }
        default:
          return undefined;
      }
    },
  };
}

/** Session options a case runs with. */
export interface Setup {
  lenient: boolean;
  lmtp: boolean;
  starttls: boolean;
  requireTls: boolean;
  auth: boolean;
  maxInvalidCommands: number;
  maxMessageSize: number;
  maxDataLineLength: number;
  /** A script for `scriptedPolicy`, or none. */
  policy: number[] | undefined;
}

export const setup: fc.Arbitrary<Setup> = fc.record({
  lenient: fc.boolean(),
  lmtp: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
  starttls: fc.boolean(),
  requireTls: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
  auth: fc.boolean(),
  maxInvalidCommands: fc.oneof(
    { arbitrary: fc.constantFrom(1, 3), weight: 1 },
    { arbitrary: fc.constantFrom(20, 10_000), weight: 4 },
  ),
  maxMessageSize: fc.constantFrom(0, 40, 200, 1_000_000),
  maxDataLineLength: fc.constantFrom(0, 100, 1000),
  // Mostly "no decision", so sessions with a policy still get far before one ends them.
  policy: fc.option(
    fc.array(
      fc.oneof({ arbitrary: fc.constant(0), weight: 8 }, { arbitrary: fc.integer({ min: 1, max: 8 }), weight: 1 }),
      {
        minLength: 1,
        maxLength: 24,
      },
    ),
    { nil: undefined },
  ),
});

export const plainSetup: Setup = {
  lenient: false,
  lmtp: false,
  starttls: false,
  requireTls: false,
  auth: false,
  maxInvalidCommands: 10_000,
  maxMessageSize: 0,
  maxDataLineLength: 0,
  policy: undefined,
};

const connection: ConnectionInfo = {
  id: 1,
  remoteAddress: '127.0.0.1',
  remotePort: 40000,
  localPort: 25,
  listener: 'smtp',
};

/** A message writer that keeps what it got, so a delivery can be matched with its octets. */
export interface KeptWriter extends MessageWriter {
  parts: Buffer[];
}

/** What a session did with a stream. */
export interface Run {
  /** Every output item as wire text (`[close]` and the like for actions), in order. */
  wire: string;
  output: SessionOutput[];
  deliveries: Array<
    Pick<Delivery, 'id' | 'accepted' | 'size' | 'sender' | 'recipients' | 'via'> & { reply: string; octets: number }
  >;
  /** The octets of each accepted message, in order. */
  messages: string[];
  transactions: string[];
  closed: boolean;
  /** Output items that came after the session said `close` or `reset`. */
  afterClose: number;
  /** Set when `feed` (or `start`) threw. */
  threw: unknown;
  session: SmtpSession;
}

/** Feeds `input` to a fresh session cut at `cuts`; never throws (a throw is reported in `threw`). */
export function runSession(input: Buffer, cuts: readonly number[], s: Setup): Run {
  let ids = 0;
  const writers: KeptWriter[] = [];
  const transactions: string[] = [];
  const observer: SessionObserver = {
    transactionStarted: (tx: Transaction) => {
      transactions.push(tx.sender);
    },
    recipient: () => {},
    messageWriter: () => {
      const writer: KeptWriter = { parts: [], write: (chunk) => writer.parts.push(Buffer.from(chunk)) };
      writers.push(writer);
      return writer;
    },
    refused: () => {},
    faultFired: () => {},
  };
  const options: SessionOptions = {
    hostname: 'sink.test',
    maxMessageSize: s.maxMessageSize,
    maxCommandLineLength: 512,
    maxDataLineLength: s.maxDataLineLength,
    maxRecipients: 5,
    maxRejectedRecipients: 3,
    maxInvalidCommands: s.maxInvalidCommands,
    softErrorLimit: 10,
    errorDelay: 0,
    starttls: s.starttls || s.requireTls,
    requireTls: s.requireTls,
    lmtp: s.lmtp,
    lenient: s.lenient,
    auth: s.auth
      ? createAuthProvider({
          users: new Map([['user', 'secret']]),
          // CRAM-MD5 is left out: its challenge is random by design, so two runs could never answer alike.
          mechanisms: ['PLAIN', 'LOGIN', 'XOAUTH2'],
          required: false,
          requireTls: false,
          hostname: 'sink.test',
        })
      : undefined,
    policy: s.policy === undefined ? undefined : scriptedPolicy(s.policy),
    nextDeliveryId: () => `M${++ids}`,
  };
  const session = new SmtpSession(options, connection, observer);
  const output: SessionOutput[] = [];
  let afterClose = 0;
  let closedAt = -1;
  const take = (): void => {
    for (const item of session.output) {
      if (closedAt >= 0) afterClose++;
      output.push(item);
      if (item.type === 'close' || item.type === 'reset') closedAt = output.length;
    }
    session.output.length = 0;
  };
  let threw: unknown;
  try {
    session.start();
    take();
    const bounds = [0, ...cuts, input.length];
    for (let i = 0; i + 1 < bounds.length; i++) {
      session.feed(input.subarray(bounds[i], bounds[i + 1]));
      take();
    }
  } catch (error) {
    threw = error;
  }
  const deliveries = output.flatMap((o) =>
    o.type === 'reply' && o.delivery !== undefined
      ? [
          {
            id: o.delivery.id,
            accepted: o.delivery.accepted,
            size: o.delivery.size,
            sender: o.delivery.sender,
            recipients: o.delivery.recipients,
            via: o.delivery.via,
            reply: formatReply(o.delivery.reply),
            // Octets the message's writer received: a kept message must be the whole message.
            octets:
              o.delivery.accepted && writers.includes(o.delivery.writer as KeptWriter)
                ? Buffer.concat((o.delivery.writer as KeptWriter).parts).length
                : -1,
          },
        ]
      : [],
  );
  return {
    wire: output.map((o) => (o.type === 'reply' ? formatReply(o.reply) : `[${o.type}]\r\n`)).join(''),
    output,
    deliveries,
    // Octets of refused or unfinished messages are thrown away (how much of an oversize message
    // reached the writer before the limit tripped depends on the split); accepted ones are whole.
    messages: output.flatMap((o) =>
      o.type === 'reply' && o.delivery?.accepted === true && writers.includes(o.delivery.writer as KeptWriter)
        ? [Buffer.concat((o.delivery.writer as KeptWriter).parts).toString('latin1')]
        : [],
    ),
    transactions,
    closed: session.closed,
    afterClose,
    threw,
    session,
  };
}

/** The parts of a run that must not depend on how the stream was split. */
export function outcome(run: Run): Omit<Run, 'output' | 'session'> {
  const { output: _output, session: _session, ...rest } = run;
  return rest;
}

/** Replies that RFC 2034 leaves without an enhanced status code. */
export function mayLackEnhancedCode(r: Reply): boolean {
  return (
    (r.code === 220 && String(typeof r.text === 'string' ? r.text : r.text[0]).includes('mailhole ready')) ||
    (r.code === 250 && String(typeof r.text === 'string' ? r.text : r.text[0]).includes(' greets ')) ||
    r.code === 354 ||
    r.code === 334
  );
}

/** Every way a reply can be malformed on the wire; empty when it is well-formed. */
export function replyProblems(r: Reply): string[] {
  const problems: string[] = [];
  const wire = formatReply(r);
  if (!wire.endsWith('\r\n')) problems.push('does not end in CRLF');
  const lines = wire.slice(0, -2).split('\r\n');
  lines.forEach((line, i) => {
    const last = i === lines.length - 1;
    if (!new RegExp(`^[2-5]\\d\\d${last ? ' ' : '-'}`).test(line))
      problems.push(`line ${i} malformed: ${JSON.stringify(line)}`);
    if (line.slice(0, 3) !== String(r.code)) problems.push(`line ${i} has another code`);
    if (/[\r\n]/.test(line)) problems.push(`line ${i} carries a line break`);
  });
  if (r.enhanced === undefined) {
    if (!mayLackEnhancedCode(r)) problems.push(`no enhanced code on ${JSON.stringify(wire)}`);
  } else if (!new RegExp(`^${String(r.code)[0]}\\.\\d{1,3}\\.\\d{1,3}$`).test(r.enhanced)) {
    problems.push(`enhanced code ${r.enhanced} does not fit ${r.code}`);
  }
  return problems;
}

export { isPositive };
