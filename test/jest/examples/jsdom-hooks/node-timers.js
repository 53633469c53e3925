// jsdom has no setImmediate, which Node mail clients (nodemailer) use: lend them Node's.
const timers = require('node:timers');

globalThis.setImmediate ??= timers.setImmediate;
globalThis.clearImmediate ??= timers.clearImmediate;
