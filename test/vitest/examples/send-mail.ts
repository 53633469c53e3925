// The application side of the examples: plain nodemailer, pointed at whatever host and port it is given.
import { createTransport } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';

export interface Mail {
  from?: string;
  to: string;
  subject?: string;
}

/** Sends each mail over one connection, then closes it. */
export async function sendMail(smtp: SMTPTransport.Options, ...mails: Mail[]): Promise<void> {
  const transport = createTransport({ secure: false, ignoreTLS: smtp.requireTLS !== true, ...smtp });
  try {
    for (const mail of mails) {
      await transport.sendMail({
        from: 'app@example.test',
        subject: 'hello',
        text: 'Hello from the example.',
        ...mail,
      });
    }
  } finally {
    transport.close();
  }
}
