import { describe, expect, it } from 'vitest';
import {
  describeRule,
  downloadName,
  EventStreamParser,
  formatSize,
  hasRemoteContent,
  messageDocument,
  messagePolicy,
  tokenFromHash,
} from '../../src/control/inbox/ui/format.js';

describe('inbox page helpers', () => {
  it('parses server-sent events split anywhere, comments and CRLF included', () => {
    const parser = new EventStreamParser();
    const stream =
      ': keep-alive\r\n\r\nevent: stats\ndata: {"accepted":1}\n\nevent: deliveries\ndata: [1,\ndata: 2]\n\n';
    const events = [];
    for (let i = 0; i < stream.length; i += 3) events.push(...parser.feed(stream.slice(i, i + 3)));
    expect(events).toEqual([
      { event: 'stats', data: '{"accepted":1}' },
      { event: 'deliveries', data: '[1,\n2]' },
    ]);
  });

  it('puts the message policy before any of the message markup and forbids every script', () => {
    const doc = messageDocument(
      '<meta http-equiv="Content-Security-Policy" content="script-src *"><script>alert(1)</script>',
      {
        allowRemote: false,
        attachments: [],
      },
    );
    const policyAt = doc.indexOf('Content-Security-Policy');
    expect(policyAt).toBeGreaterThan(0);
    expect(policyAt).toBeLessThan(doc.indexOf('<script>'));
    expect(doc).toContain("script-src 'none'");
    expect(messagePolicy(false)).not.toMatch(/https?:/);
    expect(messagePolicy(true)).toContain('img-src data: blob: http: https:');
  });

  it('shows inline images from the attachments their cid: names', () => {
    const doc = messageDocument('<img src="cid:logo@x">', {
      allowRemote: false,
      attachments: [{ contentType: 'image/png', size: 3, contentId: '<logo@x>', content: 'AAEC' }],
    });
    expect(doc).toContain('<img src="data:image/png;base64,AAEC">');
  });

  it('tells remote content from local', () => {
    expect(hasRemoteContent('<img src="https://tracker.test/p.gif">')).toBe(true);
    expect(hasRemoteContent('<div style="background: url(\'//cdn.test/a.png\')">')).toBe(true);
    expect(hasRemoteContent('<img src="cid:a"><a href="mailto:x@test">x</a>')).toBe(false);
  });

  it('reads the token from the fragment only', () => {
    expect(tokenFromHash('#token=s3cret')).toBe('s3cret');
    expect(tokenFromHash('')).toBeUndefined();
    expect(tokenFromHash('#token=')).toBeUndefined();
  });

  it('offers safe download names', () => {
    expect(downloadName('../../etc/passwd', 'x')).toBe('.._.._etc_passwd');
    expect(downloadName('a\u0000b.txt', 'x')).toBe('a_b.txt');
    expect(downloadName(undefined, 'attachment-1')).toBe('attachment-1');
  });

  it('formats sizes and fault rules as people read them', () => {
    expect(formatSize(999)).toBe('999 B');
    expect(formatSize(1500)).toBe('1.5 kB');
    expect(formatSize(2_500_000)).toBe('2.5 MB');
    expect(
      describeRule({
        name: 'f1',
        stage: 'rcpt',
        match: { recipient: '*@b.test' },
        action: { type: 'reply', code: 550, enhanced: '5.1.1', text: 'No such user' },
        remaining: 1,
      }),
    ).toBe('f1: at rcpt when recipient *@b.test → 550 5.1.1 No such user (1 left)');
  });
});
