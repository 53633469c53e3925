import type { HookSession } from '../behaviour/hooks.js';
import type { EsmtpParameter } from '../protocol/address.js';
import type { SaslCredentials } from '../protocol/types.js';
import type { SMTPServerAuthentication, SMTPServerSession } from './types.js';

// smtp-server's session and argument shapes, built from the engine's.

let sessionCounter = 0;

export function newSession(hook: HookSession, lmtp: boolean): SMTPServerSession {
  const c = hook.connection;
  const session: SMTPServerSession = {
    id: `${(++sessionCounter).toString(32)}${Date.now().toString(32)}`.padStart(16, '0').slice(-16),
    secure: hook.tls !== undefined,
    localAddress: '',
    localPort: c.localPort,
    remoteAddress: c.remoteAddress.startsWith('::ffff:') ? c.remoteAddress.slice(7) : c.remoteAddress,
    remotePort: c.remotePort,
    clientHostname: '',
    openingCommand: false,
    hostNameAppearsAs: false,
    transmissionType: lmtp ? 'LMTP' : 'SMTP',
    envelope: { mailFrom: false, rcptTo: [] },
    transaction: 1,
    xClient: new Map(),
    xForward: new Map(),
    tlsOptions: false,
  };
  session.clientHostname = `[${session.remoteAddress}]`;
  return session;
}

export function transmissionType(session: SMTPServerSession, lmtp: boolean): string {
  let type = lmtp ? 'LMTP' : 'SMTP';
  if (session.openingCommand === 'EHLO') type = `E${type}`;
  if (session.secure) type += 'S';
  if (session.user) type += 'A';
  return type;
}

export function args(parameters: readonly EsmtpParameter[]): Record<string, string | true> | false {
  if (parameters.length === 0) return false;
  const out: Record<string, string | true> = {};
  for (const p of parameters) out[p.name] = p.value ?? true;
  return out;
}

export function authentication(c: SaslCredentials): SMTPServerAuthentication {
  const auth: SMTPServerAuthentication = {
    method: c.mechanism,
    username: c.username,
    validatePassword: (password) => c.validatePassword(password),
  };
  if (c.password !== undefined) auth.password = c.password;
  if (c.accessToken !== undefined) auth.accessToken = c.accessToken;
  if (c.challenge !== undefined) auth.challenge = c.challenge;
  if (c.challengeResponse !== undefined) auth.challengeResponse = c.challengeResponse;
  return auth;
}
