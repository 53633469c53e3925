import { describe, expect, it } from 'vitest';
import { isAddressLiteral, isDomain, isXtext, parseParameters, parsePath } from '../src/protocol/address.js';

const sender = { nullAllowed: true, utf8: false };
const recipient = { nullAllowed: false, utf8: false };
const utf8Recipient = { nullAllowed: false, utf8: true };

function address(text: string, options = recipient): string {
  const r = parsePath(text, options);
  if (!r.ok) throw new Error(`"${text}" was refused: ${r.reason}`);
  return r.path.address;
}

function reason(text: string, options = recipient): string {
  const r = parsePath(text, options);
  if (r.ok) throw new Error(`"${text}" was accepted as ${r.path.address}`);
  return r.reason;
}

describe('parsePath', () => {
  it('parses a plain mailbox and returns the parameters after it', () => {
    const r = parsePath('<user@example.org> SIZE=10 BODY=8BITMIME', sender);
    expect(r).toEqual({ ok: true, path: { address: 'user@example.org', rest: 'SIZE=10 BODY=8BITMIME' } });
  });

  it('tolerates spaces before the opening bracket', () => {
    expect(address('  <user@example.org>')).toBe('user@example.org');
  });

  it('accepts the null path <> as a sender', () => {
    expect(parsePath('<> RET=HDRS', sender)).toEqual({ ok: true, path: { address: '', rest: 'RET=HDRS' } });
  });

  it('refuses the null path <> as a recipient', () => {
    expect(reason('<>')).toMatch(/only allowed as a sender/);
  });

  it('accepts <postmaster> without a domain as a recipient, in any case', () => {
    expect(address('<postmaster>')).toBe('postmaster');
    expect(address('<PostMaster>')).toBe('PostMaster');
  });

  it('refuses a mailbox without a domain that is not postmaster', () => {
    expect(reason('<user>')).toMatch(/missing "@domain"/);
    expect(reason('<postmaster>', sender)).toMatch(/missing "@domain"/);
  });

  it('refuses an address without angle brackets', () => {
    expect(reason('user@example.org')).toMatch(/enclosed in <>/);
  });

  it('refuses an address without its closing bracket', () => {
    expect(reason('<user@example.org')).toMatch(/closing ">"/);
  });

  it('accepts dot-atoms with every atext character', () => {
    expect(address("<a.b!#$%&'*+-/=?^_`{|}~c@example.org>")).toBe("a.b!#$%&'*+-/=?^_`{|}~c@example.org");
  });

  it.each(['<.a@example.org>', '<a.@example.org>', '<a..b@example.org>'])(
    'refuses the misplaced dots of %s',
    (text) => {
      expect(reason(text)).toMatch(/dot/);
    },
  );

  it('accepts a quoted local part with spaces and specials', () => {
    expect(address('<"john doe <x>"@example.org>')).toBe('"john doe <x>"@example.org');
  });

  it('accepts quoted pairs in a quoted local part, including an escaped quote and backslash', () => {
    expect(address('<"a\\"b\\\\c"@example.org> NOTIFY=NEVER')).toBe('"a\\"b\\\\c"@example.org');
    expect(parsePath('<"a\\"b"@example.org> NOTIFY=NEVER', recipient)).toMatchObject({
      ok: true,
      path: { rest: 'NOTIFY=NEVER' },
    });
  });

  it('refuses an unterminated quoted local part', () => {
    expect(reason('<"abc@example.org>')).toMatch(/unterminated/);
  });

  it('refuses a quoted pair that escapes nothing printable', () => {
    expect(reason('<"a\\')).toMatch(/quoted pair|unterminated/);
  });

  it.each([
    ['[192.0.2.1]'],
    ['[255.255.255.255]'],
    ['[IPv6:2001:db8::1]'],
    ['[IPv6:::1]'],
    ['[ipv6:1:2:3:4:5:6:7:8]'],
    ['[IPv6:::ffff:192.0.2.1]'],
    ['[x-tag:anything-printable]'],
  ])('accepts the address literal %s as a domain', (literal) => {
    expect(address(`<user@${literal}>`)).toBe(`user@${literal}`);
  });

  it.each([
    ['[256.0.0.1]'],
    ['[1.2.3]'],
    ['[IPv6:1:2:3:4:5:6:7:8:9]'],
    ['[IPv6:1::2::3]'],
    ['[IPv6:12345::1]'],
    ['[IPv6:::1.2.3.256]'],
    ['[:x]'],
    ['[tag:a[b]'],
    ['[192.0.2.1'],
  ])('refuses the bad address literal %s', (literal) => {
    expect(parsePath(`<user@${literal}>`, recipient).ok).toBe(false);
  });

  it('ignores a source route and keeps the mailbox', () => {
    expect(address('<@relay.example,@hop.example:user@example.org>')).toBe('user@example.org');
  });

  it('refuses a source route without its colon or with a bad hop', () => {
    expect(reason('<@relay.example>')).toMatch(/source route/);
    expect(reason('<@relay.example,hop:user@example.org>')).toMatch(/source route/);
  });

  it.each(['<user@-example.org>', '<user@example-.org>', '<user@exa_mple.org>', '<user@example..org>', '<user@>'])(
    'refuses the bad domain in %s',
    (text) => {
      expect(reason(text)).toMatch(/domain/);
    },
  );

  it('accepts a local part of 64 octets and refuses one of 65', () => {
    expect(address(`<${'a'.repeat(64)}@example.org>`)).toHaveLength(64 + 12);
    expect(reason(`<${'a'.repeat(65)}@example.org>`)).toMatch(/local part longer than 64/);
  });

  it('refuses a domain longer than 255 octets', () => {
    const domain = Array.from({ length: 5 }, () => 'd'.repeat(60)).join('.');
    expect(reason(`<a@${domain}>`)).toMatch(/domain longer than 255/);
  });

  it('refuses a path longer than 256 octets even when both halves fit', () => {
    const domain = `${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(40)}`;
    expect(reason(`<${'a'.repeat(64)}@${domain}>`)).toMatch(/path longer than 256/);
  });

  it('accepts UTF-8 local parts and domains when SMTPUTF8 allows them', () => {
    expect(address('<jörg@bücher.example>', utf8Recipient)).toBe('jörg@bücher.example');
    expect(address('<"пример"@example.org>', utf8Recipient)).toBe('"пример"@example.org');
  });

  it('refuses UTF-8 without SMTPUTF8 and says UTF-8 was the reason', () => {
    expect(parsePath('<jörg@example.org>', recipient)).toMatchObject({ ok: false, utf8: true });
    expect(parsePath('<user@bücher.example>', recipient)).toMatchObject({ ok: false, utf8: true });
  });

  it('counts the local-part limit in octets, not characters', () => {
    expect(parsePath(`<${'é'.repeat(32)}@example.org>`, utf8Recipient).ok).toBe(true);
    expect(reason(`<${'é'.repeat(33)}@example.org>`, utf8Recipient)).toMatch(/local part longer/);
  });
});

describe('isDomain', () => {
  it('accepts letters, digits and inner hyphens, and labels up to 63 octets', () => {
    expect(isDomain('a-b.example.org', false)).toBe(true);
    expect(isDomain(`${'a'.repeat(63)}.org`, false)).toBe(true);
    expect(isDomain(`${'a'.repeat(64)}.org`, false)).toBe(false);
  });
});

describe('isAddressLiteral', () => {
  it('needs the brackets', () => {
    expect(isAddressLiteral('192.0.2.1')).toBe(false);
    expect(isAddressLiteral('[192.0.2.1]')).toBe(true);
  });
});

describe('parseParameters', () => {
  it('splits keywords and values and upper-cases the keywords', () => {
    expect(parseParameters('size=10 smtputf8  BODY=8BITMIME')).toEqual([
      { name: 'SIZE', value: '10' },
      { name: 'SMTPUTF8', value: undefined },
      { name: 'BODY', value: '8BITMIME' },
    ]);
  });

  it('returns nothing for no parameters', () => {
    expect(parseParameters('')).toEqual([]);
  });

  it.each([
    ['a keyword that starts with a hyphen', '-X=1'],
    ['an empty value', 'SIZE='],
    ['a value with "="', 'ENVID=a=b'],
    ['a keyword given twice', 'SIZE=1 size=2'],
    ['a keyword with a bad character', 'SI_ZE=1'],
  ])('refuses %s', (_what, text) => {
    expect(typeof parseParameters(text)).toBe('string');
  });
});

describe('isXtext', () => {
  it('accepts printable ASCII and +XX escapes', () => {
    expect(isXtext('abc+2B+3Dxyz')).toBe(true);
  });

  it('refuses a bare "+", lower-case hex, "=" and spaces', () => {
    expect(isXtext('a+b')).toBe(false);
    expect(isXtext('a+2b')).toBe(false);
    expect(isXtext('a=b')).toBe(false);
    expect(isXtext('a b')).toBe(false);
    expect(isXtext('')).toBe(false);
  });
});
