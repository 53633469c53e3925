import { DataReader } from './data-reader.js';
import { HeaderSectionCollector } from './header-section.js';
import { replies } from './replies.js';
import { isPositive, type Reply } from './reply.js';
import { type ChunkRefusal, type Decided, MessageCollector, PENDING, type SessionCore } from './session-core.js';
import type { Decision, Delivery, Recipient, SessionOutput, Transaction } from './types.js';

// The message: DATA (dot-stuffed, RFC 5321 §4.1.4) and BDAT chunks (RFC 3030), and the final
// reply (one per recipient under LMTP) with the delivery record that goes with it.

export function dataCommand(s: SessionCore, args: string): void {
  if (args.trim() !== '') return s.invalid('DATA', replies.noArguments('DATA'));
  const refusal = messageRefusal(s);
  if (refusal !== undefined) return s.invalid('DATA', refusal);
  const tx = s.transaction as Transaction;
  if (s.bdatStarted) return s.invalid('DATA', replies.dataAfterBdat);
  if (tx.body === 'BINARYMIME') return s.invalid('DATA', replies.binaryNeedsBdat);
  const final = s.respond('data', replies.startData);
  if (final === PENDING) s.whenSent(dataDone, s, tx);
  else dataDone(final, s, tx);
}

function dataDone(final: Reply | undefined, s: SessionCore, tx: Transaction): void {
  if (final === undefined || final.code !== 354) return;
  openMessage(s, tx);
  const sink = octetSink(s);
  s.data = new DataReader(
    s.options.maxMessageSize > 0 ? s.options.maxMessageSize : Number.POSITIVE_INFINITY,
    s.options.maxDataLineLength > 0 ? s.options.maxDataLineLength : Number.POSITIVE_INFINITY,
    sink,
  );
  s.mode = 'data';
}

/** Why a message cannot start now (DATA or the first BDAT), or `undefined` when it can. */
export function messageRefusal(s: SessionCore): Reply | undefined {
  if (!s.greeted && !s.options.lenient) return replies.heloFirst;
  const tx = s.transaction;
  if (tx === undefined) return replies.mailFirst;
  // LMTP answers a message once per recipient: with none, the client would wait for replies that never come.
  if (tx.recipients.length === 0 && (!s.options.lenient || s.options.lmtp)) {
    return tx.rejectedRecipients.length > 0 || tx.rejectedRecipientsOmitted > 0
      ? replies.noValidRecipients
      : replies.rcptFirst;
  }
  return undefined;
}

export function openMessage(s: SessionCore, tx: Transaction): void {
  s.writer = s.observer.messageWriter(tx, s.connection);
  const policy = s.options.policy;
  s.headers = policy?.wantsHeaders ? new HeaderSectionCollector() : undefined;
  s.message = policy?.wantsMessage ? new MessageCollector(s.options.maxMessageSize) : undefined;
}

export function octetSink(s: SessionCore): ((chunk: Buffer) => void) | undefined {
  const message = s.message;
  const writer = s.writer;
  const headers = s.headers;
  if (message !== undefined) {
    return (chunk) => {
      message.add(chunk);
      headers?.add(chunk);
      writer?.write(chunk);
    };
  }
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

export function endOfData(s: SessionCore): void {
  const reader = s.data as DataReader;
  const tx = s.transaction as Transaction;
  s.data = undefined;
  s.mode = 'command';
  tx.size = reader.size;
  const id = s.options.nextDeliveryId();
  let proposed: Reply;
  if (reader.tooBig) proposed = replies.messageTooBig(s.options.maxMessageSize);
  else if (reader.lineTooLong) proposed = replies.lineTooLong(s.options.maxDataLineLength);
  else proposed = replies.accepted(id);
  finishMessage(s, tx, proposed, 'DATA', id);
}

/** `refusal` refuses the chunk before it starts (TLS required, no service); its octets are still read. */
export function bdat(s: SessionCore, args: string, refusal?: ChunkRefusal): void {
  const m = /^(\d{1,15})(?: +(LAST))? *$/i.exec(args);
  if (m === null) {
    // Without a valid size the chunk cannot be skipped: the stream is lost, so say so and close.
    s.refuse('BDAT', replies.syntax('BDAT <octets> [LAST]'));
    s.terminate(replies.chunkLost);
    return;
  }
  s.bdatRemaining = Number(m[1]);
  s.bdatLast = m[2] !== undefined;
  s.mode = 'bdat';
  s.chunkRefusal = refusal;
  if (refusal === undefined) {
    if (s.bdatFailed !== undefined) {
      // RFC 3030 §2: after a failed chunk every further BDAT is refused until RSET.
      s.chunkRefusal = { reply: replies.chunkAfterFailure, invalid: true };
    } else if (!s.bdatStarted) {
      const sequence = messageRefusal(s);
      if (sequence !== undefined) {
        // Only s chunk is refused: no message started, so a BDAT after the missing RCPT may start one.
        s.chunkRefusal = { reply: sequence, invalid: true };
      } else {
        s.bdatStarted = true;
        s.bdatSize = 0;
        s.bdatTooBig = false;
        openMessage(s, s.transaction as Transaction);
      }
    }
  }
  if (s.bdatRemaining === 0) endOfChunk(s);
}

export function chunkOctets(s: SessionCore, chunk: Buffer, from: number, to: number): void {
  if (s.chunkRefusal !== undefined) return;
  const n = to - from;
  s.bdatSize += n;
  const max = s.options.maxMessageSize;
  if (s.bdatTooBig || (max > 0 && s.bdatSize > max)) {
    // A hook deciding on the message sees it cut exactly at the limit (the capture gets whole chunks only).
    const room = s.bdatTooBig ? 0 : n - (s.bdatSize - max);
    s.bdatTooBig = true;
    if (room > 0) s.message?.add(chunk.subarray(from, from + room));
    return;
  }
  const part = from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to);
  s.message?.add(part);
  s.headers?.add(part);
  s.writer?.write(part);
}

export function endOfChunk(s: SessionCore): void {
  s.mode = 'command';
  const refusal = s.chunkRefusal;
  if (refusal !== undefined) {
    s.chunkRefusal = undefined;
    if (refusal.invalid) s.invalid('BDAT', refusal.reply);
    else s.refuse('BDAT', refusal.reply);
    return;
  }
  const octets = bdatLastChunkSize(s);
  const tx = s.transaction as Transaction;
  if (s.bdatTooBig) {
    const refusal = replies.messageTooBig(s.options.maxMessageSize);
    if (s.bdatLast) {
      tx.size = s.bdatSize;
      finishMessage(s, tx, refusal, 'BDAT', s.options.nextDeliveryId());
    } else {
      s.bdatFailed = refusal;
      s.refuse('BDAT', refusal);
    }
    return;
  }
  if (!s.bdatLast) {
    s.reply(replies.chunkOk(octets));
    return;
  }
  tx.size = s.bdatSize;
  const id = s.options.nextDeliveryId();
  finishMessage(s, tx, replies.accepted(id), 'BDAT', id);
}

export function bdatLastChunkSize(s: SessionCore): number {
  const size = s.bdatSize - s.bdatChunkStart;
  s.bdatChunkStart = s.bdatSize;
  return size;
}

/** The final reply(ies) to a message, and the delivery record that goes with it. */
export function finishMessage(
  s: SessionCore,
  tx: Transaction,
  proposed: Reply,
  via: 'DATA' | 'BDAT',
  id: string,
): void {
  const headers = s.headers?.result();
  const message = s.message?.result();
  const writer = s.writer;
  // Taken before resetTransaction replaces the list: the faults of s transaction, the final one included.
  const faults = s.faults;
  s.writer = undefined;
  s.headers = undefined;
  s.message = undefined;
  s.transcript?.note(`message: ${tx.size} octets (${via})`);
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
      heloName: s.heloName,
      tls: s.tls,
      user: s.user,
      connection: s.connection,
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

  if (s.options.lmtp) {
    lmtpReplies(s, tx, proposed, via, headers, message, build);
    return;
  }

  const decided = s.decideOnly('message', proposed, undefined, headers, message);
  if (decided === PENDING) {
    // The transaction stays until the decision settles: its faults belong to this delivery.
    s.whenDecided(messageDecidedLate, proposed, s, via, build);
    return;
  }
  s.resetTransaction();
  messageDecided(s, decided, via, build);
}

function messageDecidedLate(
  decided: Decided | undefined,
  s: SessionCore,
  via: 'DATA' | 'BDAT',
  build: (reply: Reply, accepted: boolean) => Delivery,
): void {
  s.resetTransaction();
  messageDecided(s, decided, via, build);
}

function messageDecided(
  s: SessionCore,
  decided: Decided | undefined,
  via: 'DATA' | 'BDAT',
  build: (reply: Reply, accepted: boolean) => Delivery,
): void {
  if (decided === undefined) return;
  s.transcript?.reply(decided.reply, decided.by);
  const delivery = build(decided.reply, isPositive(decided.reply));
  if (!delivery.accepted) s.observer.refused(via, decided.reply, s.connection);
  // Postfix's error limits count "errors without delivering mail": a delivered message starts over.
  else s.errors = 0;
  s.output.push({ type: 'reply', reply: decided.reply, delivery });
  s.after(decided.then);
}

/**
 * RFC 2033 §4.2: one reply per accepted recipient, in RCPT order. Each goes out right after its
 * own decision, so a delay (or a pending decision) for one recipient holds back that reply and the ones after it.
 */
function lmtpReplies(
  s: SessionCore,
  tx: Transaction,
  proposed: Reply,
  via: 'DATA' | 'BDAT',
  headers: Buffer | undefined,
  message: Buffer | undefined,
  build: (reply: Reply, accepted: boolean, lmtpReplies?: Delivery['lmtpReplies']) => Delivery,
): void {
  const results: NonNullable<Delivery['lmtpReplies']> = [];
  let last: Extract<SessionOutput, { type: 'reply' }> | undefined;
  const finish = (then: Decision['then'], dropped: boolean): void => {
    if (last !== undefined) {
      // The delivery rides on the last reply the client gets, whatever ended the loop.
      const anyAccepted = results.some((r) => isPositive(r.reply));
      last.delivery = build(last.reply, anyAccepted, results);
      if (!anyAccepted) s.observer.refused(via, last.reply, s.connection);
      else s.errors = 0;
    }
    s.resetTransaction();
    if (!dropped) s.after(then);
  };
  // Returns false when the loop must stop (dropped, or the connection ends after this reply).
  const one = (address: string, final: Decided | undefined): boolean => {
    if (final === undefined) {
      finish(undefined, true);
      return false;
    }
    results.push({ address, reply: final.reply });
    s.transcript?.reply(final.reply, final.by);
    last = { type: 'reply', reply: final.reply };
    s.output.push(last);
    if (final.then !== undefined) {
      // The connection ends after this reply: later recipients get none (the client treats them as failed).
      finish(final.then, false);
      return false;
    }
    return true;
  };
  const from = (index: number): void => {
    for (let i = index; i < tx.recipients.length; i++) {
      const address = (tx.recipients[i] as Recipient).address;
      const final = s.decideOnly('message', proposed, address, headers, message);
      if (final === PENDING) {
        s.settleWith = (d) => {
          if (one(address, s.apply(d, proposed))) from(i + 1);
        };
        return;
      }
      if (!one(address, final)) return;
    }
    finish(undefined, false);
  };
  from(0);
}
