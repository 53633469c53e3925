const nodemailer = require('nodemailer');
const { classifyReply } = require('@mailhole/core');

test('a recipient of gone.test is refused as Exchange Online does, the other accepted', async () => {
  const transport = nodemailer.createTransport({ host: mailhole.host, port: mailhole.port, ignoreTLS: true });
  let info;
  try {
    info = await transport.sendMail({
      from: 'app@example.test',
      to: ['ada@gone.test', 'bob@example.test'],
      subject: 'Hi',
      text: 'Hi',
    });
  } finally {
    transport.close();
  }
  expect(info.rejectedErrors.map((e) => e.response)).toEqual(['550 5.1.10 Recipient not found']);
  expect(classifyReply(info.rejectedErrors[0].response)).toMatchObject({ permanent: true, subject: 1, detail: 10 });
  expect(mailhole.accepted).toBe(1);
});
