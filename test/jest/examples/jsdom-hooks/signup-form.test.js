const nodemailer = require('nodemailer');
const { useMailhole } = require('@mailhole/jest');

const mailhole = useMailhole();

// The page under test: a form whose submit handler mails a confirmation.
function renderSignupForm(port) {
  document.body.innerHTML = '<form><input name="email"><button>Sign up</button></form>';
  const form = document.querySelector('form');
  const sent = new Promise((resolve, reject) => {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port });
      transport
        .sendMail({ from: 'app@example.test', to: form.elements.email.value, subject: 'Confirm', text: 'Click' })
        .then(resolve, reject)
        .finally(() => transport.close());
    });
  });
  return { form, sent };
}

test('runs in jsdom', () => {
  expect(typeof window).toBe('object');
  expect(mailhole.accepted).toBe(0);
});

test('submitting the form mails the address typed in', async () => {
  const { form, sent } = renderSignupForm(mailhole.port);
  form.elements.email.value = 'ada@example.test';
  form.querySelector('button').click();
  await sent;
  expect(mailhole).toHaveAccepted(1);
  expect(mailhole).toHaveReceivedMailTo('ada@example.test');
});

test('the next test counts from zero on the same sink', async () => {
  expect(mailhole.accepted).toBe(0);
  const { form, sent } = renderSignupForm(mailhole.port);
  form.elements.email.value = 'grace@example.test';
  form.querySelector('button').click();
  await sent;
  await expect(mailhole).toReceive(1, { timeout: 5000 });
  expect(mailhole.stats().accepted).toBe(2);
});

describe('with a sink per test', () => {
  const perTest = useMailhole({ scope: 'test' });
  const ports = [];

  test('gets a sink', () => {
    ports.push(perTest.port);
    expect(perTest.accepted).toBe(0);
  });

  test('gets another sink on another port', () => {
    ports.push(perTest.port);
    expect(ports[1]).not.toBe(ports[0]);
  });
});
