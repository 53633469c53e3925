import { type MailholeHandle, useMailhole } from '@mailhole/jest';
import { createTransport } from 'nodemailer';

async function sendWelcome(sink: Pick<MailholeHandle, 'host' | 'port'>, to: string): Promise<void> {
  const transport = createTransport({ host: sink.host, port: sink.port });
  try {
    await transport.sendMail({ from: 'app@example.test', to, subject: 'Welcome aboard', text: 'Hello' });
  } finally {
    transport.close();
  }
}

describe('the environment global, typed', () => {
  test('counts the current test', async () => {
    await sendWelcome(mailhole, 'ada@example.test');
    const count: number = mailhole.accepted;
    expect(count).toBe(1);
    expect(mailhole).toHaveAccepted(1);
    expect(mailhole).toHaveReceivedMailTo('ada@example.test');
  });

  test('keeps whole messages with capture "full" from testEnvironmentOptions', async () => {
    await sendWelcome(mailhole, 'grace@example.test');
    const [record] = await mailhole.waitFor({ subject: 'Welcome aboard' });
    expect(record?.subject).toBe('Welcome aboard');
  });
});

describe('the hook helper, typed', () => {
  const local = useMailhole({ scope: 'test' });

  test('has its own sink', async () => {
    expect(local.port).not.toBe(mailhole.port);
    await sendWelcome(local, 'alan@example.test');
    await expect(local).toReceive(1, { timeout: 5000 });
    expect(mailhole.accepted).toBe(0);
  });
});
