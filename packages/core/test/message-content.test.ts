import { connectSink, createMailbox, type MailboxSource, messageCodes, type Sink } from '@mailhole/core';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { describe, expect, it } from 'vitest';
import { sinkForTest, transportForTest } from '../../../test/support/tls-clients.js';

const signInUrl = 'https://app.test/auth/callback?token=Zm9vYmFy_baz-42&next=%2Fdashboard%2Fsettings';

/** Sends `mail` with nodemailer to a fresh mailbox and returns the message it received. */
async function receive(mail: Mail.Options, sink?: Sink) {
  const target = sink ?? (await sinkForTest({ capture: 'full', api: false }));
  const mailbox = createMailbox(target);
  const info = await transportForTest(target).sendMail({ from: 'app@test.example', to: mailbox.address, ...mail });
  const message = await mailbox.waitForMessage();
  return { message, raw: message.raw.toString('latin1'), info };
}

describe('links(), link() and codes() on real nodemailer mails', () => {
  it('finds the sign-in link of an HTML+text mail once, HTML entities decoded, in order', async () => {
    const { message } = await receive({
      subject: 'Sign in to App',
      text: `Hello!\n\nSign in: ${signInUrl}\n\nOr visit https://app.test/help.\n`,
      html: `<p>Hello!</p><p><a class="button" href="${signInUrl.replace(/&/g, '&amp;')}">Sign&nbsp;in</a></p>
             <p><a href='https://app.test/help'>Help</a> <a href="mailto:help@app.test">mail us</a> <a href="#top">top</a></p>`,
    });

    expect(message.links()).toEqual([signInUrl, 'https://app.test/help']);
    expect(message.link({ text: 'sign in' })).toBe(signInUrl);
    expect(message.link({ text: /^Help$/ })).toBe('https://app.test/help');
    expect(message.link({ href: /\/auth\// })).toBe(signInUrl);
    expect(message.text).toContain('Sign in:');
    expect(message.html).toContain('class="button"');
  });

  it('reads a quoted-printable body whose long link is split by soft line breaks', async () => {
    const longUrl = `https://app.test/verify?token=${'a1b2c3d4e5'.repeat(12)}&email=ad%C3%A9le%40example.test`;
    const { message, raw } = await receive({
      subject: 'Verify',
      text: `Bonjour Adèle, confirmez votre adresse : ${longUrl}\nVotre code : 482913.\n`,
      textEncoding: 'quoted-printable',
    });

    expect(raw).toContain('Content-Transfer-Encoding: quoted-printable');
    expect(raw).toMatch(/=\r\n/); // the URL is longer than a line: it was folded
    expect(message.links()).toEqual([longUrl]);
    expect(message.codes()).toEqual(['482913']);
  });

  it('reads base64 bodies, text and HTML, where the link is not in the raw octets at all', async () => {
    const { message, raw } = await receive({
      subject: 'Your code',
      text: `Your one-time code is 730514. It expires in 10 minutes.\nOr open ${signInUrl}`,
      html: `<p>Your one-time code is <b>730514</b>.</p><a href="${signInUrl}">Open App</a>`,
      textEncoding: 'base64',
    });

    expect(raw).toContain('Content-Transfer-Encoding: base64');
    expect(raw).not.toContain('730514');
    expect(message.codes({ length: 6 })).toEqual(['730514']);
    // Without a text body (mailparser derives one here) the visible text of the HTML is read.
    expect(messageCodes({ text: undefined, html: message.html })).toEqual(['730514']);
    expect(message.link({ text: 'Open App' })).toBe(signInUrl);
  });

  it('decodes an encoded-word subject, and a mailbox waits for it by its decoded text', async () => {
    const sink = await sinkForTest({ capture: 'full', api: false });
    const mailbox = createMailbox(sink);
    await transportForTest(sink).sendMail({
      from: 'app@test.example',
      to: mailbox.address,
      subject: 'Ihr Anmeldecode für Café Größe ✓',
      text: 'Code: 1234-5678',
    });

    const message = await mailbox.waitForMessage({ subject: 'Café Größe' });

    expect(message.headers.subject?.[0]).toMatch(/^=\?UTF-8\?/);
    expect(message.subject).toBe('Ihr Anmeldecode für Café Größe ✓');
    expect(message.codes({ pattern: /Code: (\d{4}-\d{4})/ })).toEqual(['1234-5678']);
  });

  it('finds codes of a given length only, and never the digits of a link', async () => {
    const { message } = await receive({
      subject: 'Codes',
      text: 'Order 20261204 shipped. Your code: 905317 (backup 11223344). Track https://app.test/t/555666?u=77778888',
    });

    expect(message.codes()).toEqual(['20261204', '905317', '11223344']);
    expect(message.codes({ length: 6 })).toEqual(['905317']);
    expect(() => message.codes({ length: 0 })).toThrow('option "length" must be a whole number of digits from 1 to 64');
  });

  it('says which links there are when link() finds none, and what a query must look like', async () => {
    const { message } = await receive({
      subject: 'Links',
      html: '<a href="https://app.test/a">First</a> <a href="https://app.test/b">Second</a>',
    });

    expect(() => message.link({ text: 'Reset password' })).toThrow(
      'link(): no link with anchor text containing "Reset password" in the message. Its links:\n' +
        '  https://app.test/a (text "First")\n  https://app.test/b (text "Second")',
    );
    expect(() => message.link({} as never)).toThrow('link(): give { text } or { href }');
  });

  it('reads the codes of an HTML-only mail from its visible text, not its markup', async () => {
    const { message } = await receive({
      subject: 'HTML only',
      html: '<style>.c{width:123456px}</style><p>Your code is <b>730514</b>.</p><img src="https://app.test/p/99887766.png">',
    });

    expect(message.codes()).toEqual(['730514']);
    expect(message.codes({ length: 6 })).toEqual(['730514']);
    // Without a text body (mailparser derives one here) the visible text of the HTML is read.
    expect(messageCodes({ text: undefined, html: message.html })).toEqual(['730514']);
  });

  it('gives a text-only mail the same links and codes, trimming the punctuation after a URL', async () => {
    const { message } = await receive({
      subject: 'Plain',
      text: 'Open (https://app.test/a?x=1) or https://app.test/b, then https://app.test/wiki/Foo_(bar). Code 4711',
    });

    expect(message.html).toBeUndefined();
    expect(message.links()).toEqual([
      'https://app.test/a?x=1',
      'https://app.test/b',
      'https://app.test/wiki/Foo_(bar)',
    ]);
    expect(message.codes()).toEqual(['4711']);
  });

  it('gives the same helpers on a captured message read in-process and through a remote sink', async () => {
    const sink = await sinkForTest({ capture: 'full', api: { port: 0 } });
    const remote = await connectSink(sink.apiUrl);
    const { message } = await receive(
      { subject: 'Both', text: `Sign in: ${signInUrl}`, html: `<a href="${signInUrl}">Sign in</a>` },
      sink,
    );

    const [local] = sink.messages({ subject: 'Both' });
    const [far] = await remote.messages({ subject: 'Both' });
    const parsedHere = await local?.parsed();
    const parsedThere = await far?.parsed();

    expect(parsedHere?.links()).toEqual([signInUrl]);
    expect(parsedThere?.links()).toEqual([signInUrl]);
    expect(parsedThere?.link({ text: 'Sign in' })).toBe(message.link({ text: 'Sign in' }));
    // The helpers are methods, not data: JSON of the parsed view stays what the control API serves.
    expect(Object.keys(JSON.parse(JSON.stringify(parsedThere)))).not.toContain('links');
  });
});

describe('a mailbox', () => {
  it('gives each test its own address and waits only for mail to it', async () => {
    const sink = await sinkForTest({ capture: 'full', api: false });
    const ada = createMailbox(sink, { prefix: 'ada' });
    const bob = createMailbox(sink, { prefix: 'bob' });
    const transport = transportForTest(sink);

    expect(ada.address).toMatch(/^ada-[0-9a-f]{10}@mailhole\.test$/);
    expect(bob.address).not.toBe(ada.address);
    await transport.sendMail({ from: 'app@test.example', to: bob.address, subject: 'for bob', text: 'b' });
    await transport.sendMail({ from: 'app@test.example', to: ada.address, subject: 'for ada', text: 'a' });

    expect((await ada.waitForMessage()).subject).toBe('for ada');
    expect((await bob.waitForMessage()).subject).toBe('for bob');
    expect(await ada.accepted()).toBe(1);
  });

  it('returns a new message on each wait, oldest first', async () => {
    const sink = await sinkForTest({ capture: 'full', api: false });
    const mailbox = createMailbox(sink);
    const transport = transportForTest(sink);
    await transport.sendMail({ from: 'app@test.example', to: mailbox.address, subject: 'one', text: '1' });

    const first = await mailbox.waitForMessage();
    const second = mailbox.waitForMessage({ timeout: 10_000 });
    await transport.sendMail({ from: 'app@test.example', to: mailbox.address, subject: 'two', text: '2' });

    expect(first.subject).toBe('one');
    expect((await second).subject).toBe('two');
    expect((await mailbox.messages()).map((m) => m.subject)).toEqual(['one', 'two']);
  });

  it('on timeout lists what did arrive at its address', async () => {
    const sink = await sinkForTest({ capture: 'full', api: false });
    const mailbox = createMailbox(sink);
    await transportForTest(sink).sendMail({
      from: 'app@test.example',
      to: mailbox.address,
      subject: 'Welcome',
      text: 'hi',
    });

    const error = await mailbox.waitForMessage({ subject: 'Sign in', timeout: 200 }).catch((e: Error) => e);

    expect(error).toMatchObject({ name: 'WaitTimeoutError' });
    expect((error as Error).message).toContain(
      `mailbox.waitForMessage: no new message to <${mailbox.address}> with a subject containing "Sign in" arrived in time.`,
    );
    expect((error as Error).message).toMatch(
      /received 1 message\(s\):\n {2}#1 accepted from <app@test\.example>.* subject "Welcome"/,
    );
    expect((error as Error).message).toContain('waitFor timed out after 200 ms');
  });

  it('says to capture full when the sink keeps no content', async () => {
    const sink = await sinkForTest({ capture: 'envelope', api: false });
    const mailbox = createMailbox(sink);
    await transportForTest(sink).sendMail({ from: 'app@test.example', to: mailbox.address, text: 'hi' });

    await expect(mailbox.waitForMessage()).rejects.toThrow("kept no content: start the sink with capture: 'full'");
  });

  it('works the same on a remote sink', async () => {
    const sink = await sinkForTest({ capture: 'full', api: { port: 0 } });
    const remote: MailboxSource = await connectSink(sink.apiUrl);
    const mailbox = createMailbox(remote, { domain: 'example.test' });
    await transportForTest(sink).sendMail({
      from: 'app@test.example',
      to: mailbox.address,
      subject: 'Remote',
      html: `<a href="${signInUrl}">Go</a>`,
    });

    const message = await mailbox.waitForMessage({ subject: 'Remote', from: 'app@test.example' });

    expect(mailbox.address.endsWith('@example.test')).toBe(true);
    expect(message.links()).toEqual([signInUrl]);
    expect(message.id).toBe(message.record.id);
    expect(await mailbox.describe()).toContain(`<${mailbox.address}> received 1 message(s):`);
  });

  it('refuses a domain or prefix that would not make an address', async () => {
    const sink = await sinkForTest({ capture: 'full', api: false });
    expect(() => createMailbox(sink, { domain: 'bad domain' })).toThrow('option "domain" must be a domain');
    expect(() => createMailbox(sink, { prefix: 'a@b' })).toThrow('option "prefix" must be up to 40 letters');
  });
});
