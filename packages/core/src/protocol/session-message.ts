import { DataReader } from './data-reader.js';
import { HeaderSectionCollector } from './header-section.js';
import { replies } from './replies.js';
import { isPositive, type Reply } from './reply.js';
import type { ChunkRefusal, SessionCore } from './session-core.js';
import type { Decision, Delivery, SessionOutput, Transaction } from './types.js';

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
  s.headers = s.options.policy?.wantsHeaders ? new HeaderSectionCollector() : undefined;
}

export function octetSink(s: SessionCore): ((chunk: Buffer) => void) | undefined {
  const writer = s.writer;
  const headers = s.headers;
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
    s.bdatTooBig = true;
    return;
  }
  const part = from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to);
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
  const writer = s.writer;
  // Taken before resetTransaction replaces the list: the faults of s transaction, the final one included.
  const faults = s.faults;
  s.writer = undefined;
  s.headers = undefined;
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
    // RFC 2033 §4.2: one reply per accepted recipient, in RCPT order. Each goes out right after its
    // own decision, so a delay decided for one recipient holds back that reply and the ones after it.
    const results: NonNullable<Delivery['lmtpReplies']> = [];
    let last: Extract<SessionOutput, { type: 'reply' }> | undefined;
    let then: Decision['then'];
    let dropped = false;
    for (const r of tx.recipients) {
      const final = s.decideOnly('message', proposed, r.address, headers);
      if (final === undefined) {
        dropped = true;
        break;
      }
      results.push({ address: r.address, reply: final.reply });
      s.transcript?.reply(final.reply, final.by);
      last = { type: 'reply', reply: final.reply };
      s.output.push(last);
      if (final.then !== undefined) {
        // The connection ends after s reply: later recipients get none (the client treats them as failed).
        then = final.then;
        break;
      }
    }
    if (last !== undefined) {
      // The delivery rides on the last reply the client gets, whatever ended the loop.
      const anyAccepted = results.some((r) => isPositive(r.reply));
      last.delivery = build(last.reply, anyAccepted, results);
      if (!anyAccepted) s.observer.refused(via, last.reply, s.connection);
      else s.errors = 0;
    }
    s.resetTransaction();
    if (!dropped) s.after(then);
    return;
  }

  const decided = s.decideOnly('message', proposed, undefined, headers);
  s.resetTransaction();
  if (decided === undefined) return;
  s.transcript?.reply(decided.reply, decided.by);
  const delivery = build(decided.reply, isPositive(decided.reply));
  if (!delivery.accepted) s.observer.refused(via, decided.reply, s.connection);
  // Postfix's error limits count "errors without delivering mail": a delivered message starts over.
  else s.errors = 0;
  s.output.push({ type: 'reply', reply: decided.reply, delivery });
  s.after(decided.then);
}
