import { type Reply, reply } from './reply.js';

/**
 * The same reply object while the argument stays the same: a greeting (or an EHLO answer) built anew
 * for every connection would be validated, formatted and encoded anew too, where one object keeps its
 * wire bytes cached.
 */
function reusedFor(build: (argument: string) => Reply): (argument: string) => Reply {
  let lastArgument: string | undefined;
  let last: Reply | undefined;
  return (argument) => {
    if (last === undefined || argument !== lastArgument) {
      last = build(argument);
      lastArgument = argument;
    }
    return last;
  };
}

let lastEhloKey: string | undefined;
let lastEhlo: Reply | undefined;
/** The EHLO answer, reused while hostname, client name and keywords stay the same (see `reusedFor`). */
function ehloFor(key: string, build: () => Reply): Reply {
  if (lastEhlo === undefined || key !== lastEhloKey) {
    lastEhlo = build();
    lastEhloKey = key;
  }
  return lastEhlo;
}

/**
 * Every reply the engine sends, in one place: a reply's text is never typed twice.
 * Constant replies are frozen objects whose wire bytes are cached after first use.
 */
export const replies = {
  greeting: reusedFor((hostname: string): Reply => reply(220, undefined, `${hostname} ESMTP mailhole ready`)),
  lmtpGreeting: reusedFor((hostname: string): Reply => reply(220, undefined, `${hostname} LMTP mailhole ready`)),
  helo: (hostname: string, clientName: string): Reply => reply(250, undefined, `${hostname} greets ${clientName}`),
  ehlo: (hostname: string, clientName: string, keywords: readonly string[]): Reply =>
    ehloFor(`${hostname}\0${clientName}\0${keywords.join('\0')}`, () =>
      reply(250, undefined, [`${hostname} greets ${clientName}`, ...keywords]),
    ),
  ok: reply(250, '2.0.0', 'OK'),
  resetOk: reply(250, '2.0.0', 'Reset: transaction discarded'),
  senderOk: reply(250, '2.1.0', 'Sender OK'),
  recipientOk: reply(250, '2.1.5', 'Recipient OK'),
  startData: reply(354, undefined, 'Start mail input; end with <CRLF>.<CRLF>'),
  accepted: (id: string): Reply => reply(250, '2.0.0', `Message accepted as ${id}`),
  chunkOk: (octets: number): Reply => reply(250, '2.0.0', `${octets} octets received`),
  bye: reply(221, '2.0.0', 'Bye'),
  vrfy: reply(252, '2.0.0', 'Cannot VRFY user, but will accept message for delivery'),
  help: reply(214, '2.0.0', 'Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT (RFC 5321)'),
  startTls: reply(220, '2.0.0', 'Ready to start TLS'),
  /** Proposed at stage `secure` (after the handshake); never sent: only a refusal is. */
  tlsReady: reply(220, '2.0.0', 'TLS session established'),
  requireTlsWithoutTls: reply(530, '5.7.10', 'REQUIRETLS needs a TLS session: send STARTTLS first (RFC 8689)'),

  unknownCommand: (verb: string): Reply => reply(500, '5.5.2', `Command not recognized: "${printable(verb)}"`),
  commandTooLong: (limit: number): Reply =>
    reply(500, '5.5.2', `Command line too long: the limit is ${limit} octets (option maxCommandLineLength)`),
  controlBytes: reply(500, '5.5.2', 'Command contains a NUL or control byte'),
  badUtf8: reply(500, '5.5.2', 'Command is not valid UTF-8'),
  syntax: (usage: string): Reply => reply(501, '5.5.4', `Syntax: ${usage}`),
  badAddress: (what: 'sender' | 'recipient', why: string): Reply =>
    reply(501, '5.5.4', `Bad ${what} address syntax: ${why}`),
  badParameter: (why: string): Reply => reply(501, '5.5.4', why),
  unknownParameter: (name: string): Reply =>
    reply(555, '5.5.4', `Parameter ${printable(name)} is not recognized or not implemented`),
  utf8NotAllowed: (what: 'sender' | 'recipient'): Reply =>
    reply(553, '5.6.7', `Non-ASCII ${what} address needs the SMTPUTF8 parameter on MAIL FROM`),
  noArguments: (verb: string): Reply => reply(501, '5.5.4', `${verb} takes no arguments`),

  heloFirst: reply(503, '5.5.1', 'Bad sequence of commands: send EHLO or HELO first'),
  noService: reply(503, '5.5.1', 'Bad sequence of commands: this session was refused at the greeting; send QUIT'),
  mailFirst: reply(503, '5.5.1', 'Bad sequence of commands: send MAIL FROM first'),
  nestedMail: reply(503, '5.5.1', 'Bad sequence of commands: MAIL FROM already given (send RSET to start over)'),
  rcptFirst: reply(503, '5.5.1', 'Bad sequence of commands: send RCPT TO first'),
  noValidRecipients: reply(554, '5.5.1', 'No valid recipients: every RCPT TO was refused'),
  dataAfterBdat: reply(503, '5.5.1', 'Bad sequence of commands: DATA cannot follow BDAT in one transaction'),
  binaryNeedsBdat: reply(503, '5.5.1', 'BODY=BINARYMIME needs BDAT, not DATA (RFC 3030)'),
  chunkAfterFailure: reply(503, '5.5.1', 'Bad sequence of commands: an earlier BDAT chunk failed; send RSET'),
  tlsAlready: reply(503, '5.5.1', 'Bad sequence of commands: TLS is already active'),
  tlsNotAvailable: reply(502, '5.5.1', 'STARTTLS is not offered here (start the sink with tls: "starttls" or "both")'),
  tlsRequired: reply(530, '5.7.0', 'Must issue a STARTTLS command first'),
  notImplemented: (verb: string): Reply => reply(502, '5.5.1', `${verb} is not implemented`),
  notSmtp: reply(421, '4.7.0', 'This is an SMTP server, not an HTTP server: closing the connection'),
  wrongGreeting: (expected: string): Reply =>
    reply(500, '5.5.1', `This listener speaks ${expected}: send ${expected === 'LMTP' ? 'LHLO' : 'EHLO'}`),

  authRequired: reply(530, '5.7.0', 'Authentication required: send AUTH first'),
  authNotOffered: reply(502, '5.5.1', 'AUTH is turned off on this sink (auth: false or --no-auth)'),
  authAlready: reply(503, '5.5.1', 'Bad sequence of commands: already authenticated'),
  authInTransaction: reply(503, '5.5.1', 'Bad sequence of commands: AUTH is not allowed during a mail transaction'),
  // The name is not echoed: a client that left it out sent its credentials there instead.
  authMechanism: (offered: readonly string[]): Reply =>
    reply(504, '5.5.4', `Unrecognized authentication mechanism: this sink offers ${offered.join(' ')}`),
  authNeedsTls: reply(538, '5.7.11', 'Encryption required for requested authentication mechanism: send STARTTLS first'),
  authChallenge: (challenge: string): Reply => reply(334, undefined, challenge),
  authOk: reply(235, '2.7.0', 'Authentication successful'),
  authFailed: reply(535, '5.7.8', 'Authentication credentials invalid'),
  authCancelled: reply(501, '5.0.0', 'Authentication cancelled by the client'),
  authBadBase64: reply(501, '5.5.2', 'Cannot decode the AUTH response: it is not valid base64'),
  authTooLong: (limit: number): Reply =>
    reply(500, '5.5.6', `AUTH response longer than ${limit} octets: authentication cancelled, send a shorter response`),

  messageTooBig: (limit: number): Reply =>
    reply(552, '5.3.4', `Message size exceeds the limit of ${limit} octets (option maxMessageSize)`),
  declaredTooBig: (limit: number): Reply =>
    reply(552, '5.3.4', `Declared message size exceeds the limit of ${limit} octets (option maxMessageSize)`),
  lineTooLong: (limit: number): Reply =>
    reply(
      554,
      '5.6.0',
      `Message has a line longer than ${limit} octets (RFC 5321 4.5.3.1.6; option maxDataLineLength)`,
    ),
  tooManyRecipients: (limit: number): Reply =>
    reply(452, '4.5.3', `Too many recipients: the limit is ${limit} per message (option maxRecipients)`),

  idleTimeout: (seconds: number): Reply =>
    reply(421, '4.4.2', `Idle for ${seconds} s: closing the connection (option idleTimeout)`),
  recordTimeout: (seconds: number): Reply =>
    reply(
      421,
      '4.4.2',
      `A command or message line took longer than ${seconds} s to arrive: closing the connection (option recordTimeout)`,
    ),
  sessionTooLong: (seconds: number): Reply =>
    reply(421, '4.4.2', `Session open for ${seconds} s: closing the connection (option maxSessionTime)`),
  tooManyFromAddress: (limit: number): Reply =>
    reply(
      421,
      '4.7.0',
      `Too many connections from your address: the limit is ${limit} (option maxConnectionsPerAddress)`,
    ),
  tooManyConnections: (limit: number): Reply =>
    reply(421, '4.7.0', `Too many connections: the limit is ${limit} (option maxConnections)`),
  tooManyErrors: (limit: number): Reply =>
    reply(
      421,
      '4.7.0',
      `Too many errors (${limit} invalid or refused commands): closing the connection (option maxInvalidCommands)`,
    ),
  chunkLost: reply(421, '4.5.0', 'Cannot find the end of a BDAT chunk without a valid size: closing the connection'),
  shuttingDown: reply(421, '4.3.2', 'Sink is closing: service not available'),
  decisionTimeout: (stage: string, seconds: number): Reply =>
    reply(
      421,
      '4.4.2',
      `No decision for stage ${stage} within ${seconds} s: closing the connection (a hook never settled; option idleTimeout)`,
    ),
} as const;

/** Printable ASCII for echoing client input back without control bytes or unbounded length. */
export function printable(text: string, max = 64): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control bytes is the point
  const clean = text.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
