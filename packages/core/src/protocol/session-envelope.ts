import { type EsmtpParameter, isXtext, parseParameters, parsePath } from './address.js';
import { replies } from './replies.js';
import { isPositive, type Reply } from './reply.js';
import { hasNonAscii, PENDING, type SessionCore } from './session-core.js';
import type { BodyType, Recipient, Transaction } from './types.js';

// The envelope commands: MAIL FROM with its ESMTP parameters (SIZE, BODY, SMTPUTF8, RET, ENVID,
// AUTH), and RCPT TO with NOTIFY and ORCPT (RFC 5321, 1870, 6152, 6531, 3461).

/** An empty transaction: the one shape MAIL (and lenient RCPT) opens. */
function newTransaction(sender: string, parameters: EsmtpParameter[]): Transaction {
  return {
    sender,
    recipients: [],
    rejectedRecipients: [],
    rejectedRecipientsOmitted: 0,
    body: '7BIT',
    smtputf8: false,
    size: 0,
    parameters,
  };
}

export function mail(s: SessionCore, args: string): void {
  if (!s.greeted && !s.options.lenient) return s.invalid('MAIL', replies.heloFirst);
  if (s.transaction !== undefined) {
    if (!s.options.lenient) return s.invalid('MAIL', replies.nestedMail);
    s.resetTransaction();
  }
  if (args.slice(0, 5).toUpperCase() !== 'FROM:') {
    return s.invalid('MAIL', replies.syntax('MAIL FROM:<address> [parameters]'));
  }
  const parsed = parsePath(args.slice(5), { nullAllowed: true, utf8: true });
  if (!parsed.ok) return s.invalid('MAIL', replies.badAddress('sender', parsed.reason));
  const params = parseParameters(parsed.path.rest);
  if (typeof params === 'string') return s.invalid('MAIL', replies.badParameter(params));

  const tx = newTransaction(parsed.path.address, params);
  for (const p of params) {
    const problem = mailParameter(s, tx, p);
    if (problem !== undefined) {
      if (problem.code === 552) return s.refuse('MAIL', problem);
      return s.invalid('MAIL', problem);
    }
  }
  if (!tx.smtputf8 && hasNonAscii(tx.sender)) return s.refuse('MAIL', replies.utf8NotAllowed('sender'));

  s.resetTransaction();
  s.transaction = tx;
  s.stageParameters = params;
  const final = s.respond('mail', replies.senderOk);
  s.stageParameters = undefined;
  if (final === PENDING) s.whenSent(mailDone, s, tx);
  else mailDone(final, s, tx);
}

function mailDone(final: Reply | undefined, s: SessionCore, tx: Transaction): void {
  if (final !== undefined && isPositive(final)) {
    s.observer.transactionStarted(tx, s.connection);
  } else if (s.transaction === tx) {
    s.transaction = undefined;
  }
}

export function mailParameter(s: SessionCore, tx: Transaction, p: EsmtpParameter): Reply | undefined {
  switch (p.name) {
    case 'SIZE': {
      if (p.value === undefined || !/^\d{1,20}$/.test(p.value))
        return replies.badParameter('SIZE needs a number of octets');
      const declared = Number(p.value);
      const max = s.options.maxMessageSize;
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
    case 'REQUIRETLS':
      // RFC 8689 §4.1: only on a TLS session, and without a value.
      if (s.tls === undefined) return replies.requireTlsWithoutTls;
      if (p.value !== undefined) return replies.badParameter('REQUIRETLS takes no value');
      tx.requireTls = true;
      return undefined;
    case 'AUTH':
      // RFC 4954 §5: the AUTH= parameter is accepted, and only meaningful between trusted MTAs.
      if (s.options.auth === undefined) return replies.unknownParameter(p.name);
      return undefined;
    default:
      return replies.unknownParameter(p.name);
  }
}

export function rcpt(s: SessionCore, args: string): void {
  if (!s.greeted && !s.options.lenient) return s.invalid('RCPT', replies.heloFirst);
  if (s.transaction === undefined) {
    if (!s.options.lenient) return s.invalid('RCPT', replies.mailFirst);
    // Lenient mode: RCPT without MAIL opens a transaction with the null sender, as the black-hole MTA did.
    s.transaction = newTransaction('', []);
    s.observer.transactionStarted(s.transaction, s.connection);
  }
  const tx = s.transaction;
  if (args.slice(0, 3).toUpperCase() !== 'TO:')
    return s.invalid('RCPT', replies.syntax('RCPT TO:<address> [parameters]'));
  const parsed = parsePath(args.slice(3), { nullAllowed: false, utf8: true });
  if (!parsed.ok) return s.invalid('RCPT', replies.badAddress('recipient', parsed.reason));
  const address = parsed.path.address;
  if (!tx.smtputf8 && hasNonAscii(address)) return s.refuse('RCPT', replies.utf8NotAllowed('recipient'));
  const params = parseParameters(parsed.path.rest);
  if (typeof params === 'string') return s.invalid('RCPT', replies.badParameter(params));
  const recipient: Recipient = { address };
  for (const p of params) {
    if (p.name === 'NOTIFY') {
      const values = (p.value ?? '').toUpperCase().split(',');
      const valid = values.every((v) => v === 'SUCCESS' || v === 'FAILURE' || v === 'DELAY' || v === 'NEVER');
      if (!valid || (values.includes('NEVER') && values.length > 1)) {
        return s.invalid('RCPT', replies.badParameter('NOTIFY must be NEVER, or a list of SUCCESS, FAILURE, DELAY'));
      }
      recipient.notify = values;
    } else if (p.name === 'ORCPT') {
      const v = p.value ?? '';
      const semi = v.indexOf(';');
      if (semi <= 0 || !isXtext(v.slice(semi + 1))) {
        return s.invalid('RCPT', replies.badParameter('ORCPT must be addr-type;xtext (RFC 3461)'));
      }
      recipient.orcpt = v;
    } else {
      return s.invalid('RCPT', replies.unknownParameter(p.name));
    }
  }
  if (tx.recipients.length >= s.options.maxRecipients) {
    const refusal = replies.tooManyRecipients(s.options.maxRecipients);
    rejectRecipient(s, tx, address, refusal);
    s.observer.recipient(address, false, refusal, s.connection);
    // RFC 5321 §4.5.3.1.10 wants a client to retry the rest later: that many again are its due
    // (Postfix's smtpd_recipient_overshoot_limit); beyond them, a flood is an error each.
    if (++s.overshoot > s.options.maxRecipients) return s.error('RCPT', refusal);
    return s.refuse('RCPT', refusal);
  }
  s.stageParameters = params;
  const final = s.respond('rcpt', replies.recipientOk, address);
  s.stageParameters = undefined;
  if (final === PENDING) s.whenSent(rcptDone, s, tx, recipient);
  else rcptDone(final, s, tx, recipient);
}

function rcptDone(final: Reply | undefined, s: SessionCore, tx: Transaction, recipient: Recipient): void {
  if (final === undefined) return;
  const address = recipient.address;
  const accepted = isPositive(final);
  if (accepted) tx.recipients.push(recipient);
  else rejectRecipient(s, tx, address, final);
  s.observer.recipient(address, accepted, final, s.connection);
  // Refused by a behaviour: the client is owed as many refusals as a message may have recipients;
  // past that, a flood of RCPTs is an error each, whoever refuses them.
  if (!accepted && ++s.overshoot > s.options.maxRecipients) s.countError();
}

/** Keeps the first `maxRejectedRecipients` refusals with their replies and counts the rest. */
export function rejectRecipient(s: SessionCore, tx: Transaction, address: string, reply: Reply): void {
  if (tx.rejectedRecipients.length < s.options.maxRejectedRecipients) tx.rejectedRecipients.push({ address, reply });
  else tx.rejectedRecipientsOmitted++;
}
