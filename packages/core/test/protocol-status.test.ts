import { describe, expect, it } from 'vitest';
import { classifyReply } from '../src/protocol/status.js';

describe('classifyReply (RFC 5321 §4.2.1, RFC 3463)', () => {
  it('a 5xx with an enhanced code is permanent, with class, subject and detail named', () => {
    expect(classifyReply({ code: 550, enhanced: '5.1.1', text: 'No such user' })).toEqual({
      code: 550,
      enhanced: '5.1.1',
      kind: 'permanent',
      permanent: true,
      transient: false,
      class: 5,
      subject: 1,
      subjectName: 'Addressing Status',
      detail: 1,
      detailName: 'Bad destination mailbox address',
    });
  });

  it('reads the first line of a multi-line reply as a client reports it', () => {
    const line = "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy.";
    expect(classifyReply(line)).toMatchObject({
      code: 550,
      enhanced: '5.7.26',
      permanent: true,
      subject: 7,
      detail: 26,
    });
    // 7.26 is from a later registry, not RFC 3463: the subject is named, the detail is not.
    expect(classifyReply(line)).not.toHaveProperty('detailName');
    expect(classifyReply(line).subjectName).toBe('Security or Policy Status');
  });

  it('a reply without an enhanced code is classified by its code alone', () => {
    const c = classifyReply("554 delivery error: dd This user doesn't have a yahoo.com account");
    expect(c).toEqual({ code: 554, enhanced: undefined, kind: 'permanent', permanent: true, transient: false });
  });

  it('the reply code decides transient or permanent even when the enhanced class disagrees', () => {
    expect(classifyReply('421 5.7.32 Your email was blocked')).toMatchObject({
      kind: 'transient',
      transient: true,
      class: 5,
    });
  });

  it('2xx is success and 3xx intermediate, neither permanent nor transient', () => {
    expect(classifyReply({ code: 250, enhanced: '2.0.0', text: 'OK' })).toMatchObject({
      kind: 'success',
      permanent: false,
      transient: false,
    });
    expect(classifyReply('354 Start mail input')).toMatchObject({
      kind: 'intermediate',
      permanent: false,
      transient: false,
    });
  });

  it('anything that is not a reply is refused with a message saying what to pass', () => {
    expect(() => classifyReply('Connection closed')).toThrow(
      /is not an SMTP reply; it must start with a code such as "550 5.1.1"/,
    );
    expect(() => classifyReply({ code: 700 })).toThrow(/reply code 700 is not from 200 to 599/);
    expect(() => classifyReply(null as unknown as string)).toThrow(/takes a reply \{ code, enhanced\?, text \}/);
  });
});
