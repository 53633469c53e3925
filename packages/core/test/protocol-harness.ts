import { formatReply, type Reply } from '../src/protocol/reply.js';
import { type SessionOptions, SmtpSession } from '../src/protocol/session.js';
import type {
  ConnectionInfo,
  Delivery,
  FiredFault,
  MessageWriter,
  SessionObserver,
  SessionOutput,
  TlsInfo,
  Transaction,
} from '../src/protocol/types.js';

/** Shared by the protocol-*.test.ts files: a session driven by hand, with everything it reports kept. */

export const connection: ConnectionInfo = {
  id: 7,
  remoteAddress: '127.0.0.1',
  remotePort: 40000,
  localPort: 2525,
  listener: 'smtp',
};

export const tlsInfo: TlsInfo = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', mode: 'starttls' };

export function sessionOptions(overrides: Partial<SessionOptions> = {}): SessionOptions {
  let next = 0;
  return {
    hostname: 'sink.test',
    maxMessageSize: 1024 * 1024,
    maxCommandLineLength: 512,
    maxDataLineLength: 1000,
    maxRecipients: 100,
    maxRejectedRecipients: 100,
    maxInvalidCommands: 10,
    softErrorLimit: 10,
    errorDelay: 0,
    starttls: false,
    requireTls: false,
    lmtp: false,
    lenient: false,
    auth: undefined,
    policy: undefined,
    nextDeliveryId: () => `MSG${++next}`,
    ...overrides,
  };
}

export type ObserverEvent =
  | { type: 'transactionStarted'; sender: string }
  | { type: 'recipient'; address: string; accepted: boolean; reply: Reply }
  | { type: 'refused'; command: string; reply: Reply }
  | { type: 'fault'; fault: FiredFault }
  | { type: 'messageWriter'; sender: string };

/** Records every notification; keeps message content when `capture` is on. */
export class RecordingObserver implements SessionObserver {
  readonly events: ObserverEvent[] = [];
  /** Content received by each message writer, one entry per message, in order. */
  readonly messages: Buffer[][] = [];

  constructor(private readonly capture = true) {}

  transactionStarted(transaction: Transaction): void {
    this.events.push({ type: 'transactionStarted', sender: transaction.sender });
  }

  recipient(address: string, accepted: boolean, reply: Reply): void {
    this.events.push({ type: 'recipient', address, accepted, reply });
  }

  messageWriter(transaction: Transaction): MessageWriter | undefined {
    this.events.push({ type: 'messageWriter', sender: transaction.sender });
    if (!this.capture) return undefined;
    const parts: Buffer[] = [];
    this.messages.push(parts);
    // A copy: the session may hand out views of a buffer the caller reuses.
    return { write: (chunk) => parts.push(Buffer.from(chunk)) };
  }

  refused(command: string, reply: Reply): void {
    this.events.push({ type: 'refused', command, reply });
  }

  faultFired(fault: FiredFault): void {
    this.events.push({ type: 'fault', fault });
  }

  /** The content of message `index` as one buffer. */
  message(index = 0): Buffer {
    return Buffer.concat(this.messages[index] ?? []);
  }

  of<T extends ObserverEvent['type']>(type: T): Array<Extract<ObserverEvent, { type: T }>> {
    return this.events.filter((e): e is Extract<ObserverEvent, { type: T }> => e.type === type);
  }
}

/** A session plus helpers that feed it and take its output. */
export class Client {
  readonly session: SmtpSession;
  readonly observer: RecordingObserver;
  readonly options: SessionOptions;

  constructor(options: Partial<SessionOptions> = {}, observer = new RecordingObserver(), tls?: TlsInfo) {
    this.observer = observer;
    this.options = sessionOptions(options);
    this.session = new SmtpSession(this.options, connection, observer, tls);
  }

  /** Feeds the bytes (in one chunk) and takes everything the session asked for. */
  send(data: string | Buffer): SessionOutput[] {
    this.session.feed(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
    return this.take();
  }

  /** Feeds the bytes split into the given chunks, then takes the output. */
  sendSplit(chunks: Array<string | Buffer>): SessionOutput[] {
    for (const c of chunks) this.session.feed(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
    return this.take();
  }

  /** Feeds and returns the replies as `code enhanced` strings, e.g. `250 2.1.0`. */
  codes(data: string | Buffer): string[] {
    return codes(this.send(data));
  }

  /** Feeds and returns the single reply the bytes produced (fails when there is not exactly one). */
  reply(data: string | Buffer): Reply {
    const all = replies(this.send(data));
    if (all.length !== 1) throw new Error(`expected one reply, got ${all.length}: ${all.map(code).join(', ')}`);
    return all[0] as Reply;
  }

  take(): SessionOutput[] {
    const out = [...this.session.output];
    this.session.output.length = 0;
    return out;
  }

  /** Greeting, output discarded. */
  open(): this {
    this.session.start();
    this.take();
    return this;
  }

  /** Greeting then EHLO, output discarded. */
  ready(verb = 'EHLO'): this {
    this.open();
    this.send(`${verb} client.test\r\n`);
    return this;
  }

  /** Greeting, EHLO, MAIL FROM and RCPT TO for each recipient, output discarded. */
  transaction(recipients: string[] = ['rcpt@example.org'], mailParameters = ''): this {
    this.ready(this.options.lmtp ? 'LHLO' : 'EHLO');
    const params = mailParameters === '' ? '' : ` ${mailParameters}`;
    const out = codes(
      this.send(`MAIL FROM:<sender@example.com>${params}\r\n${recipients.map((r) => `RCPT TO:<${r}>\r\n`).join('')}`),
    );
    if (out.some((c) => !c.startsWith('2'))) throw new Error(`transaction set-up failed: ${out.join(', ')}`);
    return this;
  }
}

export function replies(output: SessionOutput[]): Reply[] {
  return output.flatMap((o) => (o.type === 'reply' ? [o.reply] : []));
}

export function code(r: Reply): string {
  return r.enhanced === undefined ? String(r.code) : `${r.code} ${r.enhanced}`;
}

export function codes(output: SessionOutput[]): string[] {
  return replies(output).map(code);
}

/** The output as the wire text the client would read, plus markers for non-reply actions. */
export function transcript(output: SessionOutput[]): string {
  return output.map((o) => (o.type === 'reply' ? formatReply(o.reply) : `[${o.type}]\r\n`)).join('');
}

export function deliveries(output: SessionOutput[]): Delivery[] {
  return output.flatMap((o) => (o.type === 'reply' && o.delivery !== undefined ? [o.delivery] : []));
}

export function types(output: SessionOutput[]): string[] {
  return output.map((o) => o.type);
}

/** The EHLO keyword lines (without the greeting line) of a reply. */
export function keywords(r: Reply): string[] {
  return typeof r.text === 'string' ? [] : r.text.slice(1);
}
