import { isUtf8 } from 'node:buffer';
import { type EsmtpParameter, isXtext, parseParameters, parsePath } from './address.js';
import { DataReader } from './data-reader.js';
import { CommandLineReader } from './line-reader.js';
import { printable, replies } from './replies.js';
import { isPositive, type Reply } from './reply.js';
import type {
  AuthProvider,
  BodyType,
  ConnectionInfo,
  Decision,
  Delivery,
  MessageWriter,
  Recipient,
  SaslExchange,
  SessionObserver,
  SessionOutput,
  SessionTranscript,
  Stage,
  StageContext,
  StagePolicy,
  TlsInfo,
  Transaction,
} from './types.js';

/** Limits and switches of a session; the server fills them from the sink options. */
export interface SessionOptions {
  hostname: string;
  /** Largest message in octets; 0 means no limit (advertised as `SIZE 0`, RFC 1870). */
  maxMessageSize: number;
  maxCommandLineLength: number;
  maxDataLineLength: number;
  maxRecipients: number;
  /** Refused recipients kept per transaction (with their replies); the rest are only counted. */
  maxRejectedRecipients: number;
  /** Errors (invalid or refused commands) before `421 4.7.0` closes the session (Postfix's hard error limit). */
  maxInvalidCommands: number;
  /** Errors after which each further error reply waits `errorDelay` ms (Postfix's soft error limit). */
  softErrorLimit: number;
  /** Milliseconds each error reply waits once `softErrorLimit` is reached; 0 = no wait. */
  errorDelay: number;
  /** STARTTLS is offered (the connection can upgrade). */
  starttls: boolean;
  requireTls: boolean;
  /** Speak LMTP (RFC 2033): LHLO, and one final reply per recipient. */
  lmtp: boolean;
  /** Accept commands out of order, like the black-hole MTA did. */
  lenient: boolean;
  auth: AuthProvider | undefined;
  policy: StagePolicy | undefined;
  nextDeliveryId: () => string;
}

type Mode = 'command' | 'data' | 'bdat' | 'auth' | 'tls' | 'closed';

/** Why the BDAT chunk being read will be refused once its octets are in; `invalid` counts as an error (maxInvalidCommands). */
interface ChunkRefusal {
  reply: Reply;
  invalid: boolean;
}

const HEADER_LIMIT = 64 * 1024;
/** Fault firings kept with one transaction's record (a rule firing on every RCPT of a flood must not grow it). */
const MAX_FAULTS_PER_TRANSACTION = 100;
/** BDAT octets that count as one record for the per-record deadline (a slow chunk must keep moving). */
const BDAT_RECORD = 64 * 1024;
const SASL_LINE_LIMIT = 12 * 1024;
const HTTP_VERBS = new Set(['GET', 'POST', 'PUT', 'HEAD', 'CONNECT', 'OPTIONS', 'DELETE', 'PATCH']);
const UNIMPLEMENTED = new Set(['EXPN', 'TURN', 'ETRN', 'ATRN', 'SEND', 'SOML', 'SAML']);
/** Commands allowed before STARTTLS when TLS is required (issue #3, RFC 3207 §4). */
const BEFORE_TLS = new Set(['EHLO', 'HELO', 'LHLO', 'STARTTLS', 'NOOP', 'RSET', 'QUIT']);
/**
 * Commands refused with `530 5.7.0` before AUTH when it is required (RFC 4954 §6), whatever the
 * strictness: lenient mode lets RCPT open a transaction without MAIL, so MAIL alone is no gate.
 */
const NEED_AUTH = new Set(['MAIL', 'RCPT', 'DATA', 'BDAT']);

/**
 * One SMTP (or LMTP) session as a pure state machine: bytes go in through `feed`, and what the
 * connection must do comes out in `output`, in order. No sockets, no timers, no I/O.
 *
 * @example
 * const s = new SmtpSession(options, connection, observer); s.start(); s.feed(Buffer.from('EHLO x\r\n'));
 */
export class SmtpSession {
  /** Pending actions for the connection; it drains (and empties) this after each call. */
  readonly output: SessionOutput[] = [];
  private mode: Mode = 'command';
  private readonly lines: CommandLineReader;
  private greeted = false;
  private esmtp = false;
  private heloName: string | undefined;
  private tls: TlsInfo | undefined;
  private user: string | undefined;
  private transaction: Transaction | undefined;
  /** Errors since the session began or since its last accepted message (Postfix counts the same way). */
  private errors = 0;
  /** RCPTs refused for maxRecipients in this transaction: past as many again, each counts as an error. */
  private overshoot = 0;
  private refusedAll = false;

  // DATA and BDAT state.
  private data: DataReader | undefined;
  private writer: MessageWriter | undefined;
  private headers: HeaderCollector | undefined;
  private bdatRemaining = 0;
  private bdatLast = false;
  private bdatStarted = false;
  private bdatFailed: Reply | undefined;
  private bdatSize = 0;
  private bdatTooBig = false;
  private chunkRefusal: ChunkRefusal | undefined;

  private sasl: SaslExchange | undefined;
  private saslMechanism = '';
  private faults: Delivery['faults'] = [];
  /** Records (command lines, message lines, 64 KiB of a BDAT chunk) completed: see `records`. */
  private recordCount = 0;
  private bdatRecordOctets = 0;

  /**
   * Set by the server before `start()` when the sink keeps session transcripts; left undefined,
   * the session pays one property check per command and reply.
   */
  transcript: SessionTranscript | undefined;

  constructor(
    private readonly options: SessionOptions,
    readonly connection: ConnectionInfo,
    private readonly observer: SessionObserver,
    tls?: TlsInfo,
  ) {
    this.lines = new CommandLineReader(this.commandLineLimit());
    this.tls = tls;
  }

  /** True once the session asked to be closed; further input is ignored. */
  get closed(): boolean {
    return this.mode === 'closed';
  }

  /** True while a message is being received (DATA or BDAT octets). */
  get inMessage(): boolean {
    return this.mode === 'data' || this.mode === 'bdat';
  }

  /**
   * True while a record is partly in: a command line without its end, a line of message text, a
   * BDAT chunk. The connection gives each record a deadline (Postfix's smtpd_per_record_deadline),
   * so a client that trickles bytes cannot hold a session that every byte keeps from idling.
   */
  get midRecord(): boolean {
    switch (this.mode) {
      case 'command':
      case 'auth':
        return this.lines.hasPartialLine;
      case 'data':
        return this.data?.midLine ?? false;
      case 'bdat':
        return this.bdatRemaining > 0;
      default:
        return false;
    }
  }

  /** Records completed so far; when it moves, the record in progress is a new one. */
  get records(): number {
    return this.recordCount + (this.data?.lines ?? 0);
  }

  /**
   * Octets a command line may reach before it is thrown away unread: `maxCommandLineLength`, or,
   * with AUTH offered, 12288 (RFC 4954 §4), so `AUTH XOAUTH2 <token>` fits on one line. Commands
   * other than AUTH are still held to `maxCommandLineLength` once read.
   */
  private commandLineLimit(): number {
    const max = this.options.maxCommandLineLength;
    return this.options.auth === undefined ? max : Math.max(SASL_LINE_LIMIT, max);
  }

  /** Sends the greeting (RFC 5321 §4.3.1). */
  start(): void {
    if (this.tls !== undefined) this.transcript?.tls(this.tls);
    const greeting = this.options.lmtp
      ? replies.lmtpGreeting(this.options.hostname)
      : replies.greeting(this.options.hostname);
    const final = this.respond('connect', greeting);
    // A 554 greeting means "no service": RFC 5321 §3.1 wants the server to wait for QUIT then.
    if (final !== undefined && !isPositive(final)) this.refusedAll = true;
  }

  /** Feeds bytes from the client. Safe with any split of the stream and any content. */
  feed(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      switch (this.mode) {
        case 'data': {
          const reader = this.data as DataReader;
          const next = reader.consume(chunk, pos);
          if (next < 0) return;
          pos = next;
          this.recordCount += reader.lines + 1;
          this.endOfData();
          break;
        }
        case 'bdat': {
          const take = Math.min(this.bdatRemaining, end - pos);
          if (take > 0) this.chunkOctets(chunk, pos, pos + take);
          pos += take;
          this.bdatRemaining -= take;
          this.bdatRecordOctets += take;
          if (this.bdatRecordOctets >= BDAT_RECORD) {
            this.recordCount += Math.floor(this.bdatRecordOctets / BDAT_RECORD);
            this.bdatRecordOctets %= BDAT_RECORD;
          }
          if (this.bdatRemaining === 0) {
            this.recordCount++;
            this.bdatRecordOctets = 0;
            this.endOfChunk();
          }
          break;
        }
        case 'command':
        case 'auth': {
          const result = this.lines.next(chunk, pos);
          if (result === undefined) return;
          pos = result.next;
          this.recordCount++;
          if ('tooLong' in result) {
            this.transcript?.note(`line longer than ${this.lines.limit} octets, not read`);
            if (this.mode === 'auth') this.endSasl(replies.authTooLong(this.lines.limit));
            else this.invalid('', replies.commandTooLong(this.options.maxCommandLineLength));
          } else if (this.mode === 'auth') {
            this.saslResponse(result.line);
          } else if (result.octets > this.options.maxCommandLineLength && !isAuthCommand(result.line)) {
            // Only AUTH may use the room kept for it (RFC 4954 §4); any other command keeps the limit.
            this.invalid('', replies.commandTooLong(this.options.maxCommandLineLength));
          } else {
            this.command(result.line);
          }
          break;
        }
        default:
          // 'tls': whatever was pipelined after STARTTLS in plaintext is discarded (CVE-2011-0411).
          // 'closed': nothing more is read.
          return;
      }
    }
  }

  /** The connection finished the TLS handshake after STARTTLS: the session starts over (RFC 3207 §4.2). */
  tlsStarted(info: TlsInfo): void {
    this.tls = info;
    this.transcript?.tls(info);
    // A session ended during the handshake (idle timeout, shutdown) stays ended.
    if (this.mode === 'closed') return;
    this.lines.clear();
    this.greeted = false;
    this.esmtp = false;
    this.heloName = undefined;
    this.user = undefined;
    this.resetTransaction();
    this.mode = 'command';
  }

  /** The connection was idle too long. */
  idleTimeout(seconds: number): void {
    this.terminate(replies.idleTimeout(seconds));
  }

  /** The sink is closing: tell the client, then close. */
  shutdown(): void {
    this.terminate(replies.shuttingDown);
  }

  /** Ends the session with a 421-class reply. */
  terminate(reply: Reply): void {
    if (this.mode === 'closed') return;
    this.mode = 'closed';
    this.transcript?.reply(reply, undefined);
    this.output.push({ type: 'reply', reply }, { type: 'close' });
  }

  private command(line: Buffer): void {
    const text = decodeCommand(line);
    if (this.transcript !== undefined) {
      this.transcript.command(
        typeof text === 'string' ? maskAuth(text) : `<${line.length} octets, not readable as a command>`,
      );
    }
    if (typeof text !== 'string') {
      this.invalid('', text);
      return;
    }
    const space = text.indexOf(' ');
    const verb = (space < 0 ? text : text.slice(0, space)).toUpperCase();
    const args = space < 0 ? '' : text.slice(space + 1);

    // A refused BDAT still announces its octets: they are read past, never run as commands.
    if (this.refusedAll && verb !== 'QUIT') {
      if (verb === 'BDAT') return this.bdat(args, { reply: replies.noService, invalid: true });
      return this.invalid(verb, replies.noService);
    }
    if (this.options.requireTls && this.tls === undefined && !BEFORE_TLS.has(verb) && isKnownVerb(verb)) {
      if (verb === 'BDAT') return this.bdat(args, { reply: replies.tlsRequired, invalid: true });
      return this.error(verb, replies.tlsRequired);
    }
    if (this.options.auth?.required && this.user === undefined && NEED_AUTH.has(verb)) {
      // A refused BDAT still announces its octets: they are read past, never counted as a message.
      if (verb === 'BDAT') return this.bdat(args, { reply: replies.authRequired, invalid: true });
      return this.error(verb, replies.authRequired);
    }
    switch (verb) {
      case 'EHLO':
      case 'HELO':
      case 'LHLO':
        return this.hello(verb, args);
      case 'MAIL':
        return this.mail(args);
      case 'RCPT':
        return this.rcpt(args);
      case 'DATA':
        return this.dataCommand(args);
      case 'BDAT':
        return this.bdat(args);
      case 'RSET':
        return this.rset(args);
      case 'NOOP':
        return this.reply(replies.ok);
      case 'VRFY':
        return args.trim() === ''
          ? this.invalid(verb, replies.syntax('VRFY <user or address>'))
          : this.reply(replies.vrfy);
      case 'HELP':
        return this.reply(replies.help);
      case 'QUIT':
        return this.quit();
      case 'STARTTLS':
        return this.startTls(args);
      case 'AUTH':
        return this.auth(args);
      default:
        if (HTTP_VERBS.has(verb)) {
          this.terminate(replies.notSmtp);
        } else if (UNIMPLEMENTED.has(verb)) {
          this.refuse(verb, replies.notImplemented(verb));
        } else {
          this.invalid(verb, replies.unknownCommand(verb));
        }
    }
  }

  private hello(verb: string, args: string): void {
    const lmtp = this.options.lmtp;
    if ((verb === 'LHLO') !== lmtp) {
      this.invalid(verb, lmtp ? replies.wrongGreeting('LMTP') : replies.unknownCommand(verb));
      return;
    }
    const name = args.trim();
    if (name === '' || name.includes(' ')) {
      this.invalid(verb, replies.syntax(`${verb} <your host name or [address literal]>`));
      return;
    }
    const esmtp = verb !== 'HELO';
    const proposed = esmtp
      ? replies.ehlo(this.options.hostname, printable(name, 255), this.keywords())
      : replies.helo(this.options.hostname, printable(name, 255));
    // EHLO resets the session like RSET (RFC 5321 §4.1.4).
    this.resetTransaction();
    // The policy deciding HELO sees the name being given (a HELO blocklist looks it up); a refusal keeps the old one.
    const previous = this.heloName;
    this.heloName = name;
    const final = this.respond('helo', proposed);
    if (final !== undefined && isPositive(final)) {
      this.greeted = true;
      this.esmtp = esmtp;
    } else this.heloName = previous;
  }

  private keywords(): string[] {
    const o = this.options;
    const list = [
      'PIPELINING',
      `SIZE ${o.maxMessageSize}`,
      '8BITMIME',
      'BINARYMIME',
      'CHUNKING',
      'SMTPUTF8',
      'ENHANCEDSTATUSCODES',
      'DSN',
    ];
    if (o.starttls && this.tls === undefined) list.push('STARTTLS');
    if (o.auth !== undefined && o.auth.mechanisms.length > 0 && (!o.auth.requireTls || this.tls !== undefined)) {
      list.push(`AUTH ${o.auth.mechanisms.join(' ')}`);
    }
    list.push('HELP');
    return list;
  }

  private mail(args: string): void {
    if (!this.greeted && !this.options.lenient) return this.invalid('MAIL', replies.heloFirst);
    if (this.transaction !== undefined) {
      if (!this.options.lenient) return this.invalid('MAIL', replies.nestedMail);
      this.resetTransaction();
    }
    if (args.slice(0, 5).toUpperCase() !== 'FROM:') {
      return this.invalid('MAIL', replies.syntax('MAIL FROM:<address> [parameters]'));
    }
    const parsed = parsePath(args.slice(5), { nullAllowed: true, utf8: true });
    if (!parsed.ok) return this.invalid('MAIL', replies.badAddress('sender', parsed.reason));
    const params = parseParameters(parsed.path.rest);
    if (typeof params === 'string') return this.invalid('MAIL', replies.badParameter(params));

    const tx: Transaction = {
      sender: parsed.path.address,
      recipients: [],
      rejectedRecipients: [],
      rejectedRecipientsOmitted: 0,
      body: '7BIT',
      smtputf8: false,
      size: 0,
    };
    for (const p of params) {
      const problem = this.mailParameter(tx, p);
      if (problem !== undefined) {
        if (problem.code === 552) return this.refuse('MAIL', problem);
        return this.invalid('MAIL', problem);
      }
    }
    if (!tx.smtputf8 && hasNonAscii(tx.sender)) return this.refuse('MAIL', replies.utf8NotAllowed('sender'));

    this.resetTransaction();
    this.transaction = tx;
    const final = this.respond('mail', replies.senderOk);
    if (final !== undefined && isPositive(final)) {
      this.observer.transactionStarted(tx, this.connection);
    } else if (this.transaction === tx) {
      this.transaction = undefined;
    }
  }

  private mailParameter(tx: Transaction, p: EsmtpParameter): Reply | undefined {
    switch (p.name) {
      case 'SIZE': {
        if (p.value === undefined || !/^\d{1,20}$/.test(p.value))
          return replies.badParameter('SIZE needs a number of octets');
        const declared = Number(p.value);
        const max = this.options.maxMessageSize;
        if (max > 0 && declared > max) return replies.declaredTooBig(max);
        tx.declaredSize = declared;
        return undefined;
      }
      case 'BODY': {
        const value = p.value?.toUpperCase();
        if (value !== '7BIT' && value !== '8BITMIME' && value !== 'BINARYMIME') {
          return replies.badParameter('BODY must be 7BIT, 8BITMIME or BINARYMIME');
        }
        tx.body = value as BodyType;
        return undefined;
      }
      case 'SMTPUTF8':
        if (p.value !== undefined) return replies.badParameter('SMTPUTF8 takes no value');
        tx.smtputf8 = true;
        return undefined;
      case 'RET': {
        const value = p.value?.toUpperCase();
        if (value !== 'FULL' && value !== 'HDRS') return replies.badParameter('RET must be FULL or HDRS (RFC 3461)');
        tx.ret = value;
        return undefined;
      }
      case 'ENVID':
        if (p.value === undefined || p.value.length > 100 || !isXtext(p.value)) {
          return replies.badParameter('ENVID must be xtext of at most 100 characters (RFC 3461)');
        }
        tx.envid = p.value;
        return undefined;
      case 'AUTH':
        // RFC 4954 §5: the AUTH= parameter is accepted, and only meaningful between trusted MTAs.
        if (this.options.auth === undefined) return replies.unknownParameter(p.name);
        return undefined;
      default:
        return replies.unknownParameter(p.name);
    }
  }

  private rcpt(args: string): void {
    if (!this.greeted && !this.options.lenient) return this.invalid('RCPT', replies.heloFirst);
    if (this.transaction === undefined) {
      if (!this.options.lenient) return this.invalid('RCPT', replies.mailFirst);
      this.transaction = {
        sender: '',
        recipients: [],
        rejectedRecipients: [],
        rejectedRecipientsOmitted: 0,
        body: '7BIT',
        smtputf8: false,
        size: 0,
      };
      this.observer.transactionStarted(this.transaction, this.connection);
    }
    const tx = this.transaction;
    if (args.slice(0, 3).toUpperCase() !== 'TO:')
      return this.invalid('RCPT', replies.syntax('RCPT TO:<address> [parameters]'));
    const parsed = parsePath(args.slice(3), { nullAllowed: false, utf8: true });
    if (!parsed.ok) return this.invalid('RCPT', replies.badAddress('recipient', parsed.reason));
    const address = parsed.path.address;
    if (!tx.smtputf8 && hasNonAscii(address)) return this.refuse('RCPT', replies.utf8NotAllowed('recipient'));
    const params = parseParameters(parsed.path.rest);
    if (typeof params === 'string') return this.invalid('RCPT', replies.badParameter(params));
    const recipient: Recipient = { address };
    for (const p of params) {
      if (p.name === 'NOTIFY') {
        const values = (p.value ?? '').toUpperCase().split(',');
        const valid = values.every((v) => v === 'SUCCESS' || v === 'FAILURE' || v === 'DELAY' || v === 'NEVER');
        if (!valid || (values.includes('NEVER') && values.length > 1)) {
          return this.invalid(
            'RCPT',
            replies.badParameter('NOTIFY must be NEVER, or a list of SUCCESS, FAILURE, DELAY'),
          );
        }
        recipient.notify = values;
      } else if (p.name === 'ORCPT') {
        const v = p.value ?? '';
        const semi = v.indexOf(';');
        if (semi <= 0 || !isXtext(v.slice(semi + 1))) {
          return this.invalid('RCPT', replies.badParameter('ORCPT must be addr-type;xtext (RFC 3461)'));
        }
        recipient.orcpt = v;
      } else {
        return this.invalid('RCPT', replies.unknownParameter(p.name));
      }
    }
    if (tx.recipients.length >= this.options.maxRecipients) {
      const refusal = replies.tooManyRecipients(this.options.maxRecipients);
      this.rejectRecipient(tx, address, refusal);
      this.observer.recipient(address, false, refusal, this.connection);
      // RFC 5321 §4.5.3.1.10 wants a client to retry the rest later: that many again are its due
      // (Postfix's smtpd_recipient_overshoot_limit); beyond them, a flood is an error each.
      if (++this.overshoot > this.options.maxRecipients) return this.error('RCPT', refusal);
      return this.refuse('RCPT', refusal);
    }
    const final = this.respond('rcpt', replies.recipientOk, address);
    if (final === undefined) return;
    const accepted = isPositive(final);
    if (accepted) tx.recipients.push(recipient);
    else this.rejectRecipient(tx, address, final);
    this.observer.recipient(address, accepted, final, this.connection);
    // Refused by a behaviour: the client is owed as many refusals as a message may have recipients;
    // past that, a flood of RCPTs is an error each, whoever refuses them.
    if (!accepted && ++this.overshoot > this.options.maxRecipients) this.countError();
  }

  /** Keeps the first `maxRejectedRecipients` refusals with their replies and counts the rest. */
  private rejectRecipient(tx: Transaction, address: string, reply: Reply): void {
    if (tx.rejectedRecipients.length < this.options.maxRejectedRecipients)
      tx.rejectedRecipients.push({ address, reply });
    else tx.rejectedRecipientsOmitted++;
  }

  private dataCommand(args: string): void {
    if (args.trim() !== '') return this.invalid('DATA', replies.noArguments('DATA'));
    const refusal = this.messageRefusal();
    if (refusal !== undefined) return this.invalid('DATA', refusal);
    const tx = this.transaction as Transaction;
    if (this.bdatStarted) return this.invalid('DATA', replies.dataAfterBdat);
    if (tx.body === 'BINARYMIME') return this.invalid('DATA', replies.binaryNeedsBdat);
    const final = this.respond('data', replies.startData);
    if (final === undefined || final.code !== 354) return;
    this.openMessage(tx);
    const sink = this.octetSink();
    this.data = new DataReader(
      this.options.maxMessageSize > 0 ? this.options.maxMessageSize : Number.POSITIVE_INFINITY,
      this.options.maxDataLineLength > 0 ? this.options.maxDataLineLength : Number.POSITIVE_INFINITY,
      sink,
    );
    this.mode = 'data';
  }

  /** Why a message cannot start now (DATA or the first BDAT), or `undefined` when it can. */
  private messageRefusal(): Reply | undefined {
    if (!this.greeted && !this.options.lenient) return replies.heloFirst;
    const tx = this.transaction;
    if (tx === undefined) return replies.mailFirst;
    // LMTP answers a message once per recipient: with none, the client would wait for replies that never come.
    if (tx.recipients.length === 0 && (!this.options.lenient || this.options.lmtp)) {
      return tx.rejectedRecipients.length > 0 || tx.rejectedRecipientsOmitted > 0
        ? replies.noValidRecipients
        : replies.rcptFirst;
    }
    return undefined;
  }

  private openMessage(tx: Transaction): void {
    this.writer = this.observer.messageWriter(tx, this.connection);
    this.headers = this.options.policy?.wantsHeaders ? new HeaderCollector() : undefined;
  }

  private octetSink(): ((chunk: Buffer) => void) | undefined {
    const writer = this.writer;
    const headers = this.headers;
    if (writer !== undefined && headers !== undefined) {
      return (chunk) => {
        headers.add(chunk);
        writer.write(chunk);
      };
    }
    if (writer !== undefined) return (chunk) => writer.write(chunk);
    if (headers !== undefined) return (chunk) => headers.add(chunk);
    return undefined;
  }

  private endOfData(): void {
    const reader = this.data as DataReader;
    const tx = this.transaction as Transaction;
    this.data = undefined;
    this.mode = 'command';
    tx.size = reader.size;
    const id = this.options.nextDeliveryId();
    let proposed: Reply;
    if (reader.tooBig) proposed = replies.messageTooBig(this.options.maxMessageSize);
    else if (reader.lineTooLong) proposed = replies.lineTooLong(this.options.maxDataLineLength);
    else proposed = replies.accepted(id);
    this.finishMessage(tx, proposed, 'DATA', id);
  }

  /** `refusal` refuses the chunk before it starts (TLS required, no service); its octets are still read. */
  private bdat(args: string, refusal?: ChunkRefusal): void {
    const m = /^(\d{1,15})(?: +(LAST))? *$/i.exec(args);
    if (m === null) {
      // Without a valid size the chunk cannot be skipped: the stream is lost, so say so and close.
      this.refuse('BDAT', replies.syntax('BDAT <octets> [LAST]'));
      this.terminate(replies.chunkLost);
      return;
    }
    this.bdatRemaining = Number(m[1]);
    this.bdatLast = m[2] !== undefined;
    this.mode = 'bdat';
    this.chunkRefusal = refusal;
    if (refusal === undefined) {
      if (this.bdatFailed !== undefined) {
        // RFC 3030 §2: after a failed chunk every further BDAT is refused until RSET.
        this.chunkRefusal = { reply: replies.chunkAfterFailure, invalid: true };
      } else if (!this.bdatStarted) {
        const sequence = this.messageRefusal();
        if (sequence !== undefined) {
          // Only this chunk is refused: no message started, so a BDAT after the missing RCPT may start one.
          this.chunkRefusal = { reply: sequence, invalid: true };
        } else {
          this.bdatStarted = true;
          this.bdatSize = 0;
          this.bdatTooBig = false;
          this.openMessage(this.transaction as Transaction);
        }
      }
    }
    if (this.bdatRemaining === 0) this.endOfChunk();
  }

  private chunkOctets(chunk: Buffer, from: number, to: number): void {
    if (this.chunkRefusal !== undefined) return;
    const n = to - from;
    this.bdatSize += n;
    const max = this.options.maxMessageSize;
    if (this.bdatTooBig || (max > 0 && this.bdatSize > max)) {
      this.bdatTooBig = true;
      return;
    }
    const part = from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to);
    this.headers?.add(part);
    this.writer?.write(part);
  }

  private endOfChunk(): void {
    this.mode = 'command';
    const refusal = this.chunkRefusal;
    if (refusal !== undefined) {
      this.chunkRefusal = undefined;
      if (refusal.invalid) this.invalid('BDAT', refusal.reply);
      else this.refuse('BDAT', refusal.reply);
      return;
    }
    const octets = this.bdatLastChunkSize();
    const tx = this.transaction as Transaction;
    if (this.bdatTooBig) {
      const refusal = replies.messageTooBig(this.options.maxMessageSize);
      if (this.bdatLast) {
        tx.size = this.bdatSize;
        this.finishMessage(tx, refusal, 'BDAT', this.options.nextDeliveryId());
      } else {
        this.bdatFailed = refusal;
        this.refuse('BDAT', refusal);
      }
      return;
    }
    if (!this.bdatLast) {
      this.reply(replies.chunkOk(octets));
      return;
    }
    tx.size = this.bdatSize;
    const id = this.options.nextDeliveryId();
    this.finishMessage(tx, replies.accepted(id), 'BDAT', id);
  }

  private bdatChunkStart = 0;
  private bdatLastChunkSize(): number {
    const size = this.bdatSize - this.bdatChunkStart;
    this.bdatChunkStart = this.bdatSize;
    return size;
  }

  /** The final reply(ies) to a message, and the delivery record that goes with it. */
  private finishMessage(tx: Transaction, proposed: Reply, via: 'DATA' | 'BDAT', id: string): void {
    const headers = this.headers?.result();
    const writer = this.writer;
    // Taken before resetTransaction replaces the list: the faults of this transaction, the final one included.
    const faults = this.faults;
    this.writer = undefined;
    this.headers = undefined;
    this.transcript?.note(`message: ${tx.size} octets (${via})`);
    const build = (reply: Reply, accepted: boolean, lmtpReplies?: Delivery['lmtpReplies']): Delivery => {
      const delivery: Delivery = {
        id,
        accepted,
        sender: tx.sender,
        recipients: lmtpReplies
          ? lmtpReplies.filter((r) => isPositive(r.reply)).map((r) => r.address)
          : tx.recipients.map((r) => r.address),
        recipientDetails: tx.recipients,
        rejectedRecipients: tx.rejectedRecipients,
        rejectedRecipientsOmitted: tx.rejectedRecipientsOmitted,
        size: tx.size,
        body: tx.body,
        smtputf8: tx.smtputf8,
        reply,
        via,
        heloName: this.heloName,
        tls: this.tls,
        user: this.user,
        connection: this.connection,
        time: Date.now(),
        faults,
      };
      if (tx.envid !== undefined) delivery.envid = tx.envid;
      if (tx.ret !== undefined) delivery.ret = tx.ret;
      if (lmtpReplies !== undefined) delivery.lmtpReplies = lmtpReplies;
      if (headers !== undefined) delivery.headers = headers;
      if (writer !== undefined) delivery.writer = writer;
      return delivery;
    };

    if (this.options.lmtp) {
      // RFC 2033 §4.2: one reply per accepted recipient, in RCPT order. Each goes out right after its
      // own decision, so a delay decided for one recipient holds back that reply and the ones after it.
      const results: NonNullable<Delivery['lmtpReplies']> = [];
      let last: Extract<SessionOutput, { type: 'reply' }> | undefined;
      let then: Decision['then'];
      let dropped = false;
      for (const r of tx.recipients) {
        const final = this.decideOnly('message', proposed, r.address, headers);
        if (final === undefined) {
          dropped = true;
          break;
        }
        results.push({ address: r.address, reply: final.reply });
        this.transcript?.reply(final.reply, final.by);
        last = { type: 'reply', reply: final.reply };
        this.output.push(last);
        if (final.then !== undefined) {
          // The connection ends after this reply: later recipients get none (the client treats them as failed).
          then = final.then;
          break;
        }
      }
      if (last !== undefined) {
        // The delivery rides on the last reply the client gets, whatever ended the loop.
        const anyAccepted = results.some((r) => isPositive(r.reply));
        last.delivery = build(last.reply, anyAccepted, results);
        if (!anyAccepted) this.observer.refused(via, last.reply, this.connection);
        else this.errors = 0;
      }
      this.resetTransaction();
      if (!dropped) this.after(then);
      return;
    }

    const decided = this.decideOnly('message', proposed, undefined, headers);
    this.resetTransaction();
    if (decided === undefined) return;
    this.transcript?.reply(decided.reply, decided.by);
    const delivery = build(decided.reply, isPositive(decided.reply));
    if (!delivery.accepted) this.observer.refused(via, decided.reply, this.connection);
    // Postfix's error limits count "errors without delivering mail": a delivered message starts over.
    else this.errors = 0;
    this.output.push({ type: 'reply', reply: decided.reply, delivery });
    this.after(decided.then);
  }

  private rset(args: string): void {
    if (args.trim() !== '') return this.invalid('RSET', replies.noArguments('RSET'));
    this.resetTransaction();
    this.respond('rset', replies.resetOk);
  }

  private quit(): void {
    const final = this.respond('quit', replies.bye);
    if (final !== undefined && this.mode !== 'closed') {
      this.mode = 'closed';
      this.output.push({ type: 'close' });
    }
  }

  private startTls(args: string): void {
    if (!this.options.starttls) return this.invalid('STARTTLS', replies.tlsNotAvailable);
    if (this.tls !== undefined) return this.invalid('STARTTLS', replies.tlsAlready);
    if (args.trim() !== '') return this.invalid('STARTTLS', replies.noArguments('STARTTLS'));
    const final = this.respond('starttls', replies.startTls);
    if (final === undefined || final.code !== 220 || this.mode === 'closed') return;
    this.mode = 'tls';
    this.lines.clear();
    this.output.push({ type: 'starttls' });
  }

  private auth(args: string): void {
    const provider = this.options.auth;
    if (provider === undefined) return this.invalid('AUTH', replies.authNotOffered);
    if (!this.greeted || !this.esmtp) return this.invalid('AUTH', replies.heloFirst);
    if (this.user !== undefined) return this.invalid('AUTH', replies.authAlready);
    if (this.transaction !== undefined) return this.invalid('AUTH', replies.authInTransaction);
    if (provider.requireTls && this.tls === undefined) return this.refuse('AUTH', replies.authNeedsTls);
    const [mechanism = '', initial, extra] = args.trim().split(/ +/);
    if (mechanism === '' || extra !== undefined)
      return this.invalid('AUTH', replies.syntax('AUTH <mechanism> [initial-response]'));
    let exchange: SaslExchange | undefined;
    try {
      exchange = provider.begin(mechanism.toUpperCase(), this.context('auth', undefined, undefined));
    } catch {
      // A throwing provider is its own bug: the client sees a failed AUTH and the session goes on.
      return this.refuse('AUTH', replies.authFailed);
    }
    if (exchange === undefined) return this.invalid('AUTH', replies.authMechanism(provider.mechanisms));
    this.sasl = exchange;
    this.saslMechanism = mechanism.toUpperCase();
    this.mode = 'auth';
    // SASL responses (an XOAUTH2 token, say) may be longer than a command: RFC 4954 §4 allows 12288.
    this.lines.limit = Math.max(SASL_LINE_LIMIT, this.options.maxCommandLineLength);
    // RFC 4954 §4: "=" is an empty initial response.
    this.saslStep(initial === undefined ? null : initial === '=' ? '' : initial);
  }

  private saslResponse(line: Buffer): void {
    const text = line.toString('latin1');
    this.transcript?.command(text === '*' ? '*' : MASKED);
    if (text === '*') return this.endSasl(replies.authCancelled);
    this.saslStep(text);
  }

  private saslStep(base64: string | null): void {
    let decoded: string | null = null;
    if (base64 !== null) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) return this.endSasl(replies.authBadBase64);
      decoded = Buffer.from(base64, 'base64').toString('utf8');
    }
    let step: ReturnType<SaslExchange['respond']>;
    try {
      step = (this.sasl as SaslExchange).respond(decoded);
    } catch {
      step = { reject: replies.authFailed };
    }
    if ('challenge' in step) {
      this.reply(replies.authChallenge(Buffer.from(step.challenge, 'utf8').toString('base64')));
      return;
    }
    if ('reject' in step) return this.endSasl(step.reject);
    this.sasl = undefined;
    this.lines.limit = this.commandLineLimit();
    this.mode = 'command';
    const final = this.respond('auth', replies.authOk);
    if (final !== undefined && isPositive(final)) {
      this.user = step.user;
      this.transcript?.authenticated(this.saslMechanism, step.user);
    }
  }

  private endSasl(reply: Reply): void {
    this.sasl = undefined;
    this.lines.limit = this.commandLineLimit();
    if (this.mode === 'auth') this.mode = 'command';
    this.refuse('AUTH', reply);
  }

  // --- replies, decisions and errors -------------------------------------------------------

  private context(stage: Stage, recipient: string | undefined, headers: Buffer | undefined): StageContext {
    return {
      stage,
      connection: this.connection,
      heloName: this.heloName,
      tls: this.tls,
      user: this.user,
      transaction: this.transaction,
      recipient,
      headers,
    };
  }

  /**
   * Asks the policy about a stage without sending anything. Returns the final reply and what
   * follows it, or `undefined` when the decision dropped the connection (reset, silent close).
   */
  private decideOnly(
    stage: Stage,
    proposed: Reply,
    recipient?: string,
    headers?: Buffer,
  ): { reply: Reply; then: Decision['then']; by?: string } | undefined {
    const policy = this.options.policy;
    if (policy === undefined) return { reply: proposed, then: undefined };
    const decision = policy.decide(this.context(stage, recipient, headers), proposed);
    if (decision === undefined) return { reply: proposed, then: undefined };
    const by = this.transcript === undefined ? undefined : decidedBy(decision);
    if (decision.fault !== undefined) {
      // The record keeps the first ones; every firing is still counted and logged by the fault rules.
      if (this.faults.length < MAX_FAULTS_PER_TRANSACTION) this.faults.push(decision.fault);
      this.observer.faultFired(decision.fault, this.connection);
    }
    if (decision.delayMs !== undefined && decision.delayMs > 0)
      this.output.push({ type: 'delay', ms: decision.delayMs });
    if (decision.throttleBytesPerSecond !== undefined) {
      this.output.push({ type: 'throttle', bytesPerSecond: decision.throttleBytesPerSecond });
    }
    if (decision.stallAfterBytes !== undefined)
      this.output.push({ type: 'stall', afterBytes: decision.stallAfterBytes });
    if (decision.then === 'reset' || decision.then === 'silent-close') {
      this.transcript?.note(
        `${decision.then === 'reset' ? 'connection reset' : 'connection closed'} without a reply${by ? ` (${by})` : ''}`,
      );
      this.mode = 'closed';
      this.output.push({ type: decision.then === 'reset' ? 'reset' : 'close' });
      return undefined;
    }
    const reply = decision.reply ?? proposed;
    // RFC 5321 §3.8: 421 closes the channel, whoever chose it (a policy, an X-Mailhole-Reply header).
    const then = reply.code === 421 && decision.then === undefined ? 'close' : decision.then;
    return by === undefined ? { reply, then } : { reply, then, by };
  }

  /** Decides, sends the reply and applies what follows. Returns the reply sent, or `undefined` if dropped. */
  private respond(stage: Stage, proposed: Reply, recipient?: string): Reply | undefined {
    const decided = this.decideOnly(stage, proposed, recipient);
    if (decided === undefined) return undefined;
    if (decided.reply.code >= 400) this.observer.refused(stage.toUpperCase(), decided.reply, this.connection);
    this.transcript?.reply(decided.reply, decided.by);
    this.output.push({ type: 'reply', reply: decided.reply });
    this.after(decided.then);
    return decided.reply;
  }

  private after(then: Decision['then']): void {
    if (then === 'close' && this.mode !== 'closed') {
      this.mode = 'closed';
      this.output.push({ type: 'close' });
    }
  }

  private reply(reply: Reply): void {
    this.transcript?.reply(reply, undefined);
    this.output.push({ type: 'reply', reply });
  }

  /** A command refused for a reason other than bad syntax or sequence (does not count as invalid). */
  private refuse(command: string, reply: Reply): void {
    this.observer.refused(command, reply, this.connection);
    this.transcript?.reply(reply, undefined);
    this.output.push({ type: 'reply', reply });
  }

  /** An unknown, malformed or out-of-sequence command: an error (see `error`). */
  private invalid(command: string, reply: Reply): void {
    this.error(command, reply);
  }

  /**
   * A command refused because of the client (bad syntax or sequence, a gate such as requireAuth, a
   * recipient flood), not because a behaviour chose to refuse it. Postfix's soft and hard error
   * limits: past `softErrorLimit` each such reply waits `errorDelay` ms, at `maxInvalidCommands`
   * the session ends with `421 4.7.0`.
   */
  private error(command: string, reply: Reply): void {
    this.errors++;
    const { softErrorLimit, errorDelay, maxInvalidCommands } = this.options;
    if (this.errors > softErrorLimit && errorDelay > 0 && this.errors < maxInvalidCommands) {
      this.output.push({ type: 'delay', ms: errorDelay });
    }
    this.refuse(command, reply);
    if (this.errors >= maxInvalidCommands) this.terminate(replies.tooManyErrors(maxInvalidCommands));
  }

  /** An error whose reply is already out (a refusal a behaviour chose, past the recipient overshoot). */
  private countError(): void {
    this.errors++;
    if (this.errors >= this.options.maxInvalidCommands) {
      this.terminate(replies.tooManyErrors(this.options.maxInvalidCommands));
    }
  }

  private resetTransaction(): void {
    this.transaction = undefined;
    this.overshoot = 0;
    this.data = undefined;
    this.writer = undefined;
    this.headers = undefined;
    this.bdatStarted = false;
    this.bdatFailed = undefined;
    this.bdatSize = 0;
    this.bdatChunkStart = 0;
    this.bdatTooBig = false;
    this.chunkRefusal = undefined;
    if (this.faults.length > 0) this.faults = [];
  }
}

const MASKED = '<masked>';

/** `AUTH PLAIN <secret>` as `AUTH PLAIN <masked>`: a transcript never holds a credential. */
function maskAuth(text: string): string {
  const m = /^(AUTH +\S+) +\S/i.exec(text);
  return m === null ? text : `${m[1]} ${MASKED}`;
}

/** What made a decision, in words, for the transcript. */
function decidedBy(decision: Decision): string | undefined {
  if (decision.decidedBy !== undefined) return decision.decidedBy;
  if (decision.fault !== undefined) return `fault rule "${decision.fault.rule}" (${decision.fault.action})`;
  if (decision.delayMs !== undefined && decision.delayMs > 0) return `delayed ${decision.delayMs} ms`;
  return 'policy';
}

/** The command as text, or the reply that refuses it (control bytes, invalid UTF-8). */
function decodeCommand(line: Buffer): string | Reply {
  let ascii = true;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as number;
    if (c < 0x20 || c === 0x7f) return replies.controlBytes;
    if (c > 0x7f) ascii = false;
  }
  if (ascii) return line.toString('latin1');
  if (!isUtf8(line)) return replies.badUtf8;
  return line.toString('utf8');
}

/** The line is an AUTH command (`AUTH ` in any case): the one command RFC 4954 lets be longer. */
function isAuthCommand(line: Buffer): boolean {
  return line.length > 5 && line[4] === 0x20 && line.subarray(0, 4).toString('latin1').toUpperCase() === 'AUTH';
}

function hasNonAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return true;
  return false;
}

const KNOWN = new Set(['MAIL', 'RCPT', 'DATA', 'BDAT', 'VRFY', 'HELP', 'AUTH', 'EXPN']);
function isKnownVerb(verb: string): boolean {
  return KNOWN.has(verb);
}

/** Keeps the header section (up to the first empty line), bounded, for header switches. */
class HeaderCollector {
  private parts: Buffer[] = [];
  private length = 0;
  private done = false;
  /** The last octets seen, so an empty line split across chunks still ends the collection. */
  private tail: Buffer = Buffer.alloc(0);

  add(chunk: Buffer): void {
    if (this.done) return;
    const room = HEADER_LIMIT - this.length;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length === 0) return;
    const first = this.length === 0;
    this.parts.push(Buffer.from(part));
    this.length += part.length;
    const seam = Buffer.concat([this.tail, part.subarray(0, 2)]);
    this.tail =
      part.length >= 2 ? Buffer.from(part.subarray(part.length - 2)) : seam.subarray(Math.max(0, seam.length - 2));
    const ended = (first && headerSectionLength(part) === 0) || hasEmptyLine(seam) || hasEmptyLine(part);
    if (ended || this.length >= HEADER_LIMIT) this.done = true;
  }

  result(): Buffer {
    const all = Buffer.concat(this.parts);
    const end = headerSectionLength(all);
    return end < 0 ? all : all.subarray(0, end);
  }
}

/**
 * Octets of the header section up to and including its last line ending, or -1 when the empty
 * line that ends it is not in `data`. Lines may end in CRLF or a bare LF (RFC 5322 §2.1).
 */
function headerSectionLength(data: Buffer): number {
  if (data[0] === 0x0a || (data[0] === 0x0d && data[1] === 0x0a)) return 0;
  const lf = data.indexOf('\n\n');
  const crlf = data.indexOf('\n\r\n');
  const end = lf < 0 ? crlf : crlf < 0 ? lf : Math.min(lf, crlf);
  return end < 0 ? -1 : end + 1;
}

/** An empty line is a line ending right after a line ending: "\n\n" or "\n\r\n". */
function hasEmptyLine(data: Buffer): boolean {
  return data.includes('\n\n') || data.includes('\n\r\n');
}
