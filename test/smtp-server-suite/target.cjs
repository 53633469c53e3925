'use strict';

// The server under test. SMTP_SERVER_TARGET=original runs the same tests against nodemailer's own
// smtp-server (the devDependency), for comparison; by default they run against mailhole's compat entry.
// SMTPConnection is smtp-server's internal connection class: mailhole has none, so the unit tests that
// construct it directly fail by design under the compat entry (see README.md).
if (process.env.SMTP_SERVER_TARGET === 'original') {
  module.exports = {
    SMTPServer: require('smtp-server').SMTPServer,
    SMTPConnection: require('smtp-server/lib/smtp-connection').SMTPConnection,
  };
} else {
  const { EventEmitter } = require('node:events');
  const { SMTPServer } = require('@mailhole/core/smtp-server');
  // The suite builds its servers in describe() bodies: an option the compat entry refuses would stop
  // the whole run at load time. Deferred to listen() (the describe's before hook), it fails only the
  // tests that use the option; every failure is listed and explained in README.md.
  class Compat {
    constructor(options) {
      try {
        // biome-ignore lint/correctness/noConstructorReturn: stands in for SMTPServer itself.
        return new SMTPServer(options);
      } catch (error) {
        const refused = new EventEmitter();
        refused.listen = () => {
          throw error;
        };
        refused.close = (callback) => setImmediate(() => callback?.());
        // biome-ignore lint/correctness/noConstructorReturn: the deferred refusal, see above.
        return refused;
      }
    }
  }
  module.exports = { SMTPServer: Compat, SMTPConnection: undefined };
}
