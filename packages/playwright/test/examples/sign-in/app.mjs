// A tiny app under test: a "send me a sign-in link" form, and the same with a 6-digit code.
// It knows nothing of mailhole: it reads its SMTP server from SMTP_HOST and SMTP_PORT.
import { randomBytes, randomInt } from 'node:crypto';
import { createServer } from 'node:http';
import nodemailer from 'nodemailer';

const port = Number(process.env.PORT ?? 3000);
const mailer = nodemailer.createTransport({ host: process.env.SMTP_HOST, port: Number(process.env.SMTP_PORT) });
const links = new Map(); // token -> email
const codes = new Map(); // email -> code

const page = (body) => `<!doctype html><html><body><main>${body}</main></body></html>`;
const escapeHtml = (text) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
  let body = '';
  for await (const chunk of req) body += chunk;
  const form = new URLSearchParams(body);
  const send = (status, html) => res.writeHead(status, { 'content-type': 'text/html' }).end(page(html));
  try {
    if (req.method === 'GET' && url.pathname === '/') {
      return send(
        200,
        `<form method="post" action="/sign-in"><label>Email <input name="email" type="email" required></label>
         <button name="by" value="link">Send me a sign-in link</button>
         <button name="by" value="code">Send me a code</button></form>`,
      );
    }
    if (req.method === 'POST' && url.pathname === '/sign-in') {
      const email = form.get('email') ?? '';
      if (form.get('by') === 'code') {
        const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
        codes.set(email, code);
        await mailer.sendMail({
          from: 'App <no-reply@app.test>',
          to: email,
          subject: 'Your sign-in code',
          text: `Your sign-in code is ${code}. It expires in 10 minutes.`,
          html: `<p>Your sign-in code is <strong>${code}</strong>. It expires in 10 minutes.</p>`,
        });
        return send(
          200,
          `<form method="post" action="/code"><input type="hidden" name="email" value="${escapeHtml(email)}">
           <label>Code <input name="code" inputmode="numeric"></label><button>Sign in</button></form>`,
        );
      }
      const token = randomBytes(16).toString('hex');
      links.set(token, email);
      const link = `${url.origin}/verify?token=${token}&amp;from=mail`;
      await mailer.sendMail({
        from: 'App <no-reply@app.test>',
        to: email,
        subject: 'Sign in to App',
        text: `Sign in: ${url.origin}/verify?token=${token}&from=mail\n\nIf you did not ask for this, ignore this mail.`,
        html: `<p><a href="${link}">Sign in to App</a></p><p>If you did not ask for this, ignore this mail.</p>`,
      });
      return send(200, '<p>Check your inbox.</p>');
    }
    const signedIn = (email) => send(200, `<h1>Signed in as ${escapeHtml(email)}</h1>`);
    if (req.method === 'GET' && url.pathname === '/verify') {
      const email = links.get(url.searchParams.get('token') ?? '');
      links.delete(url.searchParams.get('token') ?? '');
      return email === undefined ? send(403, '<h1>This link is not valid</h1>') : signedIn(email);
    }
    if (req.method === 'POST' && url.pathname === '/code') {
      const email = form.get('email') ?? '';
      const ok = codes.get(email) !== undefined && codes.get(email) === form.get('code');
      codes.delete(email);
      return ok ? signedIn(email) : send(403, '<h1>Wrong code</h1>');
    }
    send(404, '<h1>Not found</h1>');
  } catch (error) {
    send(500, `<h1>Could not send the mail</h1><pre>${escapeHtml(String(error))}</pre>`);
  }
});

server.listen(port, '127.0.0.1', () => console.log(`app on http://127.0.0.1:${port}`));
