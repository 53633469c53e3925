import { once } from 'node:events';
import { SMTPServer, type SMTPServerSession } from '@mailhole/core/smtp-server';
import nodemailer from 'nodemailer';
import { describe, expect, it, onTestFinished } from 'vitest';
import { greeted } from './support/smtp-wire.js';

/** Listens on a free port; closed when the test ends. */
async function listening(server: SMTPServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server.server.address()?.port as number;
}

const transport = (port: number, options: Record<string, unknown> = {}) => {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, tls: { rejectUnauthorized: false }, ...options });
  onTestFinished(() => t.close());
  return t;
};

const mail = { from: 'sender@client.test', to: 'rcpt@sink.test', subject: 'compat', text: 'hello' };

describe('@mailhole/core/smtp-server: SMTPServer as smtp-server documents it', () => {
  it('callback hooks decide with err.responseCode and see smtp-server session fields', async () => {
    const sessions: SMTPServerSession[] = [];
    const server = new SMTPServer({
      authOptional: true,
      onMailFrom(address, session, callback) {
        sessions.push(session);
        callback(
          address.address.startsWith('blocked@')
            ? Object.assign(new Error('Sender blocked'), { responseCode: 553 })
            : null,
        );
      },
      onRcptTo(_address, session, callback) {
        sessions.push(session);
        callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          sessions.push(session);
          const text = Buffer.concat(chunks).toString();
          callback(
            text.includes('reject me') ? Object.assign(new Error('Content refused'), { responseCode: 554 }) : null,
            'Queued as compat-1',
          );
        });
      },
    });
    const port = await listening(server);
    const t = transport(port);

    const info = await t.sendMail(mail);
    const sender = await t.sendMail({ ...mail, from: 'blocked@client.test' }).catch((e) => e);
    const content = await t.sendMail({ ...mail, text: 'please reject me' }).catch((e) => e);

    expect(info.response).toBe('250 2.0.0 Queued as compat-1');
    expect(sender.responseCode).toBe(553);
    expect(sender.response).toBe('553 5.1.3 Sender blocked');
    expect(content.responseCode).toBe(554);
    const first = sessions[0] as SMTPServerSession;
    expect(sessions.slice(0, 3).every((s) => s === first)).toBe(true);
    expect(first).toMatchObject({
      remoteAddress: '127.0.0.1',
      clientHostname: '[127.0.0.1]',
      openingCommand: 'EHLO',
      secure: true,
      transmissionType: 'ESMTPS',
    });
    expect(first.id).toMatch(/^[0-9a-v]{16}$/);
  });

  it("smtp-server's defaults: AUTH required, LOGIN and PLAIN offered only after STARTTLS, onAuth decides", async () => {
    const server = new SMTPServer({
      onAuth(auth, _session, callback) {
        if (auth.username === 'alice' && auth.password === 's3cret') callback(null, { user: { name: 'alice' } });
        else callback(new Error('Invalid username or password'));
      },
    });
    const port = await listening(server);
    const { wire, ehlo } = await greeted(port);
    const plainMail = await wire.command('MAIL FROM:<a@x.test>');
    wire.destroy();

    const refused = await transport(port, { auth: { user: 'alice', pass: 'wrong' } })
      .sendMail(mail)
      .catch((e) => e);
    const sent = await transport(port, { auth: { user: 'alice', pass: 's3cret' } }).sendMail(mail);

    expect(ehlo.lines.join('\n')).toContain('STARTTLS');
    expect(ehlo.lines.join('\n')).not.toContain('AUTH');
    expect(plainMail.code).toBe(530);
    expect(refused.responseCode).toBe(535);
    expect(sent.accepted).toEqual(['rcpt@sink.test']);
  });

  it('handlers assigned after construction are used, as in smtp-server', async () => {
    const server = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS'] });
    const seen: string[] = [];
    server.onRcptTo = (address, _session, callback) => {
      seen.push(address.address);
      callback();
    };
    const port = await listening(server);

    await transport(port).sendMail(mail);

    expect(seen).toEqual(['rcpt@sink.test']);
  });

  it('an option mailhole does not implement throws, naming it and why', () => {
    expect(() => new SMTPServer({ useProxy: true } as never)).toThrow(
      '@mailhole/core/smtp-server: option "useProxy" (the PROXY protocol is not implemented) not supported',
    );
    expect(() => new SMTPServer({ authMethods: ['NTLM'] })).toThrow('option "authMethods" has NTLM');
  });

  it('close(callback) ends open sessions at once and emits close', async () => {
    const server = new SMTPServer({ authOptional: true });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { wire } = await greeted(server.server.address()?.port as number);

    const closed = once(server, 'close');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await closed;

    expect((await wire.reply()).last).toBe('421 4.3.2 Sink is closing: service not available');
    expect(server.server.listening).toBe(false);
  });
});
