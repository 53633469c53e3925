import { classifyReply } from '@mailhole/core';
import { describe, expect, test } from '@mailhole/vitest';
import { sendMail } from '../send-mail.js';

/** The reply line the send was refused with. */
async function refusal(send: Promise<void>): Promise<string> {
  try {
    await send;
  } catch (error) {
    return (error as { response?: string }).response ?? String(error);
  }
  throw new Error('expected the send to be refused');
}

test('the project config lists the client on a DNSBL: Postfix reject_rbl_client reply', async ({ mailhole }) => {
  const response = await refusal(sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'ada@example.test' }));

  expect(response).toBe('554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org');
  expect(classifyReply(response)).toMatchObject({ permanent: true, subject: 7, detail: 1 });
  expect(mailhole).toHaveAccepted(0);
});

describe('a suite whose sink acts as a Gmail inbox that is full', () => {
  // A suite's rejections replace the project's list (options merge key by key).
  test.override({ mailholeOptions: { rejections: ['gmail.mailboxFull'] } });

  test('nodemailer sees 452 4.2.2 and can tell it is worth retrying', async ({ mailhole }) => {
    const response = await refusal(sendMail({ host: mailhole.host, port: mailhole.port }, { to: 'ada@example.test' }));

    expect(response).toBe(
      "452 4.2.2 The recipient's inbox is out of storage space. Please direct the recipient to Manage files in your Google Drive storage. - gsmtp",
    );
    expect(classifyReply(response).transient).toBe(true);
  });
});
