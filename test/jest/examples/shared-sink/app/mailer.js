// The app under test: it knows nothing of Jest, only the MAILHOLE_* variables it was configured with.
const { readFileSync } = require('node:fs');
const nodemailer = require('nodemailer');

async function sendReceipt(to, orderId) {
  const transport = nodemailer.createTransport({
    host: process.env.MAILHOLE_HOST,
    port: Number(process.env.MAILHOLE_PORT),
    requireTLS: true,
    tls: { ca: readFileSync(process.env.MAILHOLE_CA_FILE), servername: 'localhost' },
  });
  try {
    await transport.sendMail({ from: 'shop@example.test', to, subject: `Receipt ${orderId}`, text: 'Thanks' });
  } finally {
    transport.close();
  }
}

module.exports = { sendReceipt };
