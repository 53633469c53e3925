import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuthProvider } from '../src/behaviour/auth.js';
import type { AuthProvider, SaslExchange, SaslStep } from '../src/protocol/types.js';
import { resolveOptions } from '../src/server/options.js';
import { stageContext } from './behaviour-context.js';

const users = new Map([['alice', 's3cret']]);
const table = createAuthProvider({
  users,
  mechanisms: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'],
  required: false,
  requireTls: false,
  hostname: 'sink.test',
});
const anyone = createAuthProvider({
  users: undefined,
  mechanisms: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'],
  required: false,
  requireTls: false,
  hostname: 'sink.test',
});

function begin(provider: AuthProvider, mechanism: string): SaslExchange {
  const exchange = provider.begin(mechanism, stageContext('auth'));
  if (exchange === undefined) throw new Error(`${mechanism} not offered`);
  return exchange;
}

const plain = (user: string, password: string, authzid = '') => `${authzid}\0${user}\0${password}`;
const refusedWith = (step: SaslStep) => ('reject' in step ? `${step.reject.code} ${step.reject.enhanced}` : step);

describe('PLAIN (RFC 4616)', () => {
  it('accepts the right password as an initial response and names the user', () => {
    expect(begin(table, 'PLAIN').respond(plain('alice', 's3cret'))).toMatchObject({ user: 'alice' });
  });

  it('asks with an empty challenge when there is no initial response', () => {
    const exchange = begin(table, 'PLAIN');

    expect(exchange.respond(null)).toEqual({ challenge: '' });
    expect(exchange.respond(plain('alice', 's3cret'))).toMatchObject({ user: 'alice' });
  });

  it('refuses a wrong password, and an unknown user, with the same 535 5.7.8', () => {
    expect(refusedWith(begin(table, 'PLAIN').respond(plain('alice', 'wrong')))).toBe('535 5.7.8');
    expect(refusedWith(begin(table, 'PLAIN').respond(plain('mallory', 's3cret')))).toBe('535 5.7.8');
  });

  it('refuses acting as another identity (an authzid that differs)', () => {
    expect(refusedWith(begin(table, 'PLAIN').respond(plain('alice', 's3cret', 'root')))).toBe('535 5.7.8');
  });

  it('refuses a response that is not three NUL-separated fields with 501', () => {
    expect(refusedWith(begin(table, 'PLAIN').respond('alice s3cret'))).toBe('501 5.5.2');
  });

  it('without a users table accepts any user and password', () => {
    expect(begin(anyone, 'PLAIN').respond(plain('bob', 'anything'))).toMatchObject({ user: 'bob' });
  });
});

describe('LOGIN', () => {
  it('prompts for the user name then the password', () => {
    const exchange = begin(table, 'LOGIN');

    expect(exchange.respond(null)).toEqual({ challenge: 'Username:' });
    expect(exchange.respond('alice')).toEqual({ challenge: 'Password:' });
    expect(exchange.respond('s3cret')).toMatchObject({ user: 'alice' });
  });

  it('takes the user name as an initial response', () => {
    const exchange = begin(table, 'LOGIN');

    expect(exchange.respond('alice')).toEqual({ challenge: 'Password:' });
    expect(refusedWith(exchange.respond('nope'))).toBe('535 5.7.8');
  });
});

describe('CRAM-MD5 (RFC 2195)', () => {
  it('checks the HMAC-MD5 of a unique challenge keyed with the password', () => {
    const exchange = begin(table, 'CRAM-MD5');
    const step = exchange.respond(null) as { challenge: string };
    const digest = createHmac('md5', 's3cret').update(step.challenge).digest('hex');

    expect(step.challenge).toMatch(/^<\d+\.\d+@sink\.test>$/);
    expect(exchange.respond(`alice ${digest}`)).toMatchObject({ user: 'alice' });
  });

  it('refuses a digest made with another password', () => {
    const exchange = begin(table, 'CRAM-MD5');
    const step = exchange.respond(null) as { challenge: string };
    const digest = createHmac('md5', 'guess').update(step.challenge).digest('hex');

    expect(refusedWith(exchange.respond(`alice ${digest}`))).toBe('535 5.7.8');
  });

  it('gives every exchange a new challenge', () => {
    const a = begin(table, 'CRAM-MD5').respond(null);
    const b = begin(table, 'CRAM-MD5').respond(null);

    expect(a).not.toEqual(b);
  });

  it('refuses an initial response, which CRAM-MD5 does not have', () => {
    expect(refusedWith(begin(table, 'CRAM-MD5').respond('alice 0123'))).toBe('501 5.5.2');
  });
});

describe('XOAUTH2', () => {
  const token = (user: string, bearer: string) => `user=${user}\x01auth=Bearer ${bearer}\x01\x01`;

  it('accepts the user with the right bearer token', () => {
    expect(begin(table, 'XOAUTH2').respond(token('alice', 's3cret'))).toMatchObject({ user: 'alice' });
  });

  it('answers a bad token with a JSON error challenge, then 535 once the client acknowledges it', () => {
    const exchange = begin(table, 'XOAUTH2');
    const step = exchange.respond(token('alice', 'expired')) as { challenge: string };

    expect(JSON.parse(step.challenge)).toMatchObject({ status: '401', schemes: 'bearer' });
    expect(refusedWith(exchange.respond(''))).toBe('535 5.7.8');
  });
});

describe('the provider built from options', () => {
  it('auth: true offers every mechanism and accepts anyone', () => {
    const provider = resolveOptions({ auth: true }).auth as AuthProvider;

    expect(provider.mechanisms).toEqual(['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2']);
    expect(provider.required).toBe(false);
    expect(begin(provider, 'LOGIN').respond('eve')).toEqual({ challenge: 'Password:' });
  });

  it('offers only the mechanisms asked for, in that order', () => {
    const provider = resolveOptions({ auth: { mechanisms: ['LOGIN', 'PLAIN'] } }).auth as AuthProvider;

    expect(provider.mechanisms).toEqual(['LOGIN', 'PLAIN']);
    expect(provider.begin('CRAM-MD5', stageContext('auth'))).toBeUndefined();
  });

  it('requireAuth alone turns AUTH on and requires it before MAIL', () => {
    const provider = resolveOptions({ requireAuth: true }).auth as AuthProvider;

    expect(provider.required).toBe(true);
  });

  it('auth.requireTls is passed to the session', () => {
    const provider = resolveOptions({ tls: 'starttls', auth: { requireTls: true } }).auth as AuthProvider;

    expect(provider.requireTls).toBe(true);
  });

  it('a provider of your own is used as given, with requireAuth applied', () => {
    const own: AuthProvider = { mechanisms: ['PLAIN'], required: false, requireTls: false, begin: () => undefined };

    expect(resolveOptions({ auth: own }).auth).toBe(own);
    expect(resolveOptions({ auth: own, requireAuth: true }).auth?.required).toBe(true);
  });
});
