import { describe, expect, it } from 'vitest';
import { cramMd5Digest, decodeCramMd5, decodePlain, decodeXoauth2, saslExchange } from '../src/behaviour/sasl.js';

describe('SASL decoding, reusable on its own', () => {
  it('PLAIN: authzid, user and password (RFC 4616); anything else is malformed', () => {
    expect(decodePlain('\0alice\0s3cret')).toEqual({ authzid: '', username: 'alice', password: 's3cret' });
    expect(decodePlain('admin\0alice\0pa\u00dfword')).toEqual({
      authzid: 'admin',
      username: 'alice',
      password: 'pa\u00dfword',
    });
    expect(decodePlain('alice\0s3cret')).toBeUndefined();
    expect(decodePlain('\0\0s3cret')).toBeUndefined();
    expect(decodePlain('\0alice\r\nReceived: forged\0s3cret')).toBeUndefined();
  });

  it('XOAUTH2: user and bearer token', () => {
    expect(decodeXoauth2('user=alice@x.test\x01auth=Bearer ya29.t\x01\x01')).toEqual({
      username: 'alice@x.test',
      accessToken: 'ya29.t',
    });
    expect(decodeXoauth2('user=alice\x01auth=Basic abc\x01\x01')).toBeUndefined();
  });

  it('CRAM-MD5: RFC 2195 example digest, decoded and recomputed', () => {
    const challenge = '<1896.697170952@postoffice.reston.mci.net>';
    const digest = cramMd5Digest('tanstaaftanstaaf', challenge);
    expect(digest).toBe('b913a602c7eda7a495b4e6e7334d3890');
    expect(decodeCramMd5(`tim ${digest.toUpperCase()}`)).toEqual({ username: 'tim', digest });
    expect(decodeCramMd5('tim not-a-digest')).toBeUndefined();
  });

  it('saslExchange hands the check decoded credentials with validatePassword', () => {
    const exchange = saslExchange('LOGIN', { hostname: 'mx.test', check: (c) => c.validatePassword('pw') });
    expect(exchange?.respond(null)).toEqual({ challenge: 'Username:' });
    expect(exchange?.respond('bob')).toEqual({ challenge: 'Password:' });
    const step = exchange?.respond('pw');
    expect(step).toMatchObject({ user: 'bob', credentials: { mechanism: 'LOGIN', username: 'bob', password: 'pw' } });
    const login = saslExchange('LOGIN', { hostname: 'mx.test', check: () => true });
    login?.respond(null);
    expect(login?.respond('bob\r\nReceived: forged')).toMatchObject({ reject: { code: 501 } });
    expect(saslExchange('GSSAPI', { hostname: 'mx.test', check: () => true })).toBeUndefined();
  });
});
