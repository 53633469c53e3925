import type { DataReader } from './data-reader.js';
import { printable, replies } from './replies.js';
import { isPositive, type Reply } from './reply.js';
import { auth, endSasl, saslResponse } from './session-auth.js';
import {
  BDAT_RECORD,
  BEFORE_TLS,
  type Decided,
  decodeCommand,
  HTTP_VERBS,
  isAuthCommand,
  isKnownVerb,
  maskAuth,
  NEED_AUTH,
  PENDING,
  SessionCore,
  UNIMPLEMENTED,
} from './session-core.js';
import { mail, rcpt } from './session-envelope.js';
import { bdat, chunkOctets, dataCommand, endOfChunk, endOfData } from './session-message.js';
import type { Decision, TlsInfo } from './types.js';

export type { SessionOptions } from './session-core.js';

/** Where a session stands: its greeting name, TLS, user and the transaction in progress. */
export interface SessionSnapshot {
  heloName: string | undefined;
  tls: TlsInfo | undefined;
  user: string | undefined;
  /** Sender of the transaction in progress (`''` for `<>`), `undefined` outside one. */
  sender: string | undefined;
  /** Accepted recipients of the transaction in progress. */
  recipients: string[];
  /** Message octets are coming in (DATA or BDAT). */
  inMessage: boolean;
  /** A hook's decision is pending. */
  awaiting: boolean;
}

function greeted(final: Reply | undefined, s: SessionCore): void {
  // A 554 greeting means "no service": RFC 5321 §3.1 wants the server to wait for QUIT then.
  if (final !== undefined && !isPositive(final)) s.refusedAll = true;
}

function secured(decided: Decided | undefined, s: SessionCore): void {
  if (decided === undefined || isPositive(decided.reply)) {
    if (decided?.then === 'close') s.after('close');
    return;
  }
  s.refuse('STARTTLS', decided.reply);
  s.after('close');
}

/**
 * One SMTP (or LMTP) session as a pure state machine: bytes go in through `feed`, and what the
 * connection must do comes out in `output`, in order. No sockets, no timers, no I/O.
 *
 * @example
 * const s = new SmtpSession(options, connection, observer); s.start(); s.feed(Buffer.from('EHLO x\r\n'));
 */
export class SmtpSession extends SessionCore {
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

  /** Sends the greeting (RFC 5321 §4.3.1). */
  start(): void {
    if (this.tls !== undefined) this.transcript?.tls(this.tls);
    const greeting = this.options.lmtp
      ? replies.lmtpGreeting(this.options.hostname)
      : replies.greeting(this.options.hostname);
    const final = this.respond('connect', greeting);
    if (final === PENDING) this.whenSent(greeted, this);
    else greeted(final, this);
  }

  /** Where the session stands, for a list of live sessions. */
  snapshot(): SessionSnapshot {
    const tx = this.transaction;
    return {
      heloName: this.heloName,
      tls: this.tls,
      user: this.user,
      sender: tx?.sender,
      recipients: tx === undefined ? [] : tx.recipients.map((r) => r.address),
      inMessage: this.inMessage,
      awaiting: this.awaiting,
    };
  }

  /** True while a decision is pending (an `await` output not settled yet): input is held, not read. */
  get awaiting(): boolean {
    return this.settleWith !== undefined;
  }

  /**
   * The pending decision (the last `await` output) settled: the session goes on where it stopped,
   * then reads the input it held. A session ended meanwhile (deadline, shutdown) ignores it.
   */
  settle(decision: Decision | undefined): void {
    const handler = this.settleWith;
    if (handler === undefined) return;
    this.settleWith = undefined;
    if (this.mode === 'closed') return;
    handler(decision);
    const held = this.held;
    if (held !== undefined && this.settleWith === undefined) {
      this.held = undefined;
      this.feed(held);
    }
  }

  /** Feeds bytes from the client. Safe with any split of the stream and any content. */
  feed(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.settleWith !== undefined) {
        // Pipelined input after a pending decision waits its turn (RFC 2920: replies stay in order).
        const rest = pos === 0 ? chunk : chunk.subarray(pos);
        this.held = this.held === undefined ? rest : Buffer.concat([this.held, rest]);
        return;
      }
      switch (this.mode) {
        case 'data': {
          const reader = this.data as DataReader;
          const next = reader.consume(chunk, pos);
          if (next < 0) return;
          pos = next;
          this.recordCount += reader.lines + 1;
          endOfData(this);
          break;
        }
        case 'bdat': {
          const take = Math.min(this.bdatRemaining, end - pos);
          if (take > 0) chunkOctets(this, chunk, pos, pos + take);
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
            endOfChunk(this);
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
            if (this.mode === 'auth') endSasl(this, replies.authTooLong(this.lines.limit));
            else this.invalid('', replies.commandTooLong(this.options.maxCommandLineLength));
          } else if (this.mode === 'auth') {
            saslResponse(this, result.line);
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
    if (this.options.policy === undefined) return;
    // Stage `secure`: nothing is sent unless the decision refuses the TLS session, which then ends.
    const decided = this.decideOnly('secure', replies.tlsReady);
    if (decided === PENDING) this.whenDecided(secured, replies.tlsReady, this);
    else secured(decided, this);
  }

  /** The connection was idle too long. */
  idleTimeout(seconds: number): void {
    this.terminate(replies.idleTimeout(seconds));
  }

  /** The sink is closing: tell the client, then close. */
  shutdown(): void {
    this.terminate(replies.shuttingDown);
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
      if (verb === 'BDAT') return bdat(this, args, { reply: replies.noService, invalid: true });
      return this.invalid(verb, replies.noService);
    }
    if (this.options.requireTls && this.tls === undefined && !BEFORE_TLS.has(verb) && isKnownVerb(verb)) {
      if (verb === 'BDAT') return bdat(this, args, { reply: replies.tlsRequired, invalid: true });
      return this.error(verb, replies.tlsRequired);
    }
    if (this.options.auth?.required && this.user === undefined && NEED_AUTH.has(verb)) {
      // A refused BDAT still announces its octets: they are read past, never counted as a message.
      if (verb === 'BDAT') return bdat(this, args, { reply: replies.authRequired, invalid: true });
      return this.error(verb, replies.authRequired);
    }
    switch (verb) {
      case 'EHLO':
      case 'HELO':
      case 'LHLO':
        return this.hello(verb, args);
      case 'MAIL':
        return mail(this, args);
      case 'RCPT':
        return rcpt(this, args);
      case 'DATA':
        return dataCommand(this, args);
      case 'BDAT':
        return bdat(this, args);
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
        return auth(this, args);
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
    // The policy (a HELO blocklist, the helo hook) sees the name being given; a refusal keeps the old one.
    const previous = this.heloName;
    this.heloName = name;
    this.stageCommand = verb;
    const final = this.respond('helo', proposed);
    this.stageCommand = undefined;
    if (final === PENDING) this.whenSent(helloDone, this, esmtp, name, previous);
    else helloDone(final, this, esmtp, name, previous);
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
    // RFC 8689 §4.1: REQUIRETLS is offered only on a TLS session.
    if (this.tls !== undefined) list.push('REQUIRETLS');
    list.push('HELP');
    const hidden = o.hiddenKeywords;
    if (hidden === undefined || hidden.size === 0) return list;
    return list.filter((k) => {
      const space = k.indexOf(' ');
      return !hidden.has(space < 0 ? k : k.slice(0, space));
    });
  }

  private rset(args: string): void {
    if (args.trim() !== '') return this.invalid('RSET', replies.noArguments('RSET'));
    this.resetTransaction();
    this.respond('rset', replies.resetOk);
  }

  private quit(): void {
    const final = this.respond('quit', replies.bye);
    if (final === PENDING) this.whenSent(quitDone, this);
    else quitDone(final, this);
  }

  private startTls(args: string): void {
    if (!this.options.starttls) return this.invalid('STARTTLS', replies.tlsNotAvailable);
    if (this.tls !== undefined) return this.invalid('STARTTLS', replies.tlsAlready);
    if (args.trim() !== '') return this.invalid('STARTTLS', replies.noArguments('STARTTLS'));
    const final = this.respond('starttls', replies.startTls);
    if (final === PENDING) this.whenSent(startTlsDone, this);
    else startTlsDone(final, this);
  }
}

function helloDone(
  final: Reply | undefined,
  s: SessionCore,
  esmtp: boolean,
  name: string,
  previous: string | undefined,
): void {
  if (final !== undefined && isPositive(final)) {
    s.greeted = true;
    s.esmtp = esmtp;
    s.heloName = name;
  } else s.heloName = previous;
}

function quitDone(final: Reply | undefined, s: SessionCore): void {
  if (final !== undefined && s.mode !== 'closed') {
    s.mode = 'closed';
    s.output.push({ type: 'close' });
  }
}

function startTlsDone(final: Reply | undefined, s: SessionCore): void {
  if (final === undefined || final.code !== 220 || s.mode === 'closed') return;
  s.mode = 'tls';
  s.lines.clear();
  s.output.push({ type: 'starttls' });
}
