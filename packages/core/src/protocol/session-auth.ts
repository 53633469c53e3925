import { replies } from './replies.js';
import { isPositive, type Reply } from './reply.js';
import { MASKED, PENDING, SASL_LINE_LIMIT, type SessionCore } from './session-core.js';
import type { SaslExchange } from './types.js';

// AUTH (RFC 4954): the SASL exchange, line by line, with the AUTH provider.

export function auth(s: SessionCore, args: string): void {
  const provider = s.options.auth;
  if (provider === undefined) return s.invalid('AUTH', replies.authNotOffered);
  if (!s.greeted || !s.esmtp) return s.invalid('AUTH', replies.heloFirst);
  if (s.user !== undefined) return s.invalid('AUTH', replies.authAlready);
  if (s.transaction !== undefined) return s.invalid('AUTH', replies.authInTransaction);
  if (provider.requireTls && s.tls === undefined) return s.refuse('AUTH', replies.authNeedsTls);
  const [mechanism = '', initial, extra] = args.trim().split(/ +/);
  if (mechanism === '' || extra !== undefined)
    return s.invalid('AUTH', replies.syntax('AUTH <mechanism> [initial-response]'));
  let exchange: SaslExchange | undefined;
  try {
    exchange = provider.begin(mechanism.toUpperCase(), s.context('auth', undefined, undefined));
  } catch {
    // A throwing provider is its own bug: the client sees a failed AUTH and the session goes on.
    return s.refuse('AUTH', replies.authFailed);
  }
  if (exchange === undefined) return s.invalid('AUTH', replies.authMechanism(provider.mechanisms));
  s.sasl = exchange;
  s.saslMechanism = mechanism.toUpperCase();
  s.mode = 'auth';
  // SASL responses (an XOAUTH2 token, say) may be longer than a command: RFC 4954 §4 allows 12288.
  s.lines.limit = Math.max(SASL_LINE_LIMIT, s.options.maxCommandLineLength);
  // RFC 4954 §4: "=" is an empty initial response.
  saslStep(s, initial === undefined ? null : initial === '=' ? '' : initial);
}

export function saslResponse(s: SessionCore, line: Buffer): void {
  const text = line.toString('latin1');
  s.transcript?.command(text === '*' ? '*' : MASKED);
  if (text === '*') return endSasl(s, replies.authCancelled);
  saslStep(s, text);
}

export function saslStep(s: SessionCore, base64: string | null): void {
  let decoded: string | null = null;
  if (base64 !== null) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) return endSasl(s, replies.authBadBase64);
    decoded = Buffer.from(base64, 'base64').toString('utf8');
  }
  let step: ReturnType<SaslExchange['respond']>;
  try {
    step = (s.sasl as SaslExchange).respond(decoded);
  } catch {
    step = { reject: replies.authFailed };
  }
  if ('challenge' in step) {
    s.reply(replies.authChallenge(Buffer.from(step.challenge, 'utf8').toString('base64')));
    return;
  }
  if ('reject' in step) return endSasl(s, step.reject);
  s.sasl = undefined;
  s.lines.limit = s.commandLineLimit();
  s.mode = 'command';
  s.stageCredentials = step.credentials;
  const final = s.respond('auth', replies.authOk);
  s.stageCredentials = undefined;
  if (final === PENDING) s.whenSent(authDone, s, step.user);
  else authDone(final, s, step.user);
}

function authDone(final: Reply | undefined, s: SessionCore, user: string): void {
  if (final !== undefined && isPositive(final)) {
    s.user = user;
    s.transcript?.authenticated(s.saslMechanism, user);
  }
}

export function endSasl(s: SessionCore, reply: Reply): void {
  s.sasl = undefined;
  s.lines.limit = s.commandLineLimit();
  if (s.mode === 'auth') s.mode = 'command';
  s.refuse('AUTH', reply);
}
