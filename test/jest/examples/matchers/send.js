const nodemailer = require('nodemailer');

/** Sends one message to the test file's sink (or to `port`). */
async function send(to, subject = 'Hello', port = mailhole.port) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port });
  try {
    await transport.sendMail({ from: 'app@example.test', to, subject, text: 'Hi' });
  } finally {
    transport.close();
  }
}

module.exports = { send };
