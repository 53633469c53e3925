import type { Stage, StageContext, Transaction } from '../src/protocol/types.js';

/** Shared by the behaviour-*.test.ts files: the context a session would hand a policy at a stage. */
export function stageContext(
  stage: Stage,
  options: {
    sender?: string;
    recipients?: string[];
    recipient?: string;
    headers?: string;
    listener?: string;
    connectionId?: number;
  } = {},
): StageContext {
  const transaction: Transaction | undefined =
    options.sender === undefined
      ? undefined
      : {
          sender: options.sender,
          recipients: (options.recipients ?? []).map((address) => ({ address })),
          rejectedRecipients: [],
          rejectedRecipientsOmitted: 0,
          body: '7BIT',
          smtputf8: false,
          size: 0,
        };
  return {
    stage,
    connection: {
      id: options.connectionId ?? 1,
      remoteAddress: '127.0.0.1',
      remotePort: 40000,
      localPort: 2525,
      listener: options.listener ?? 'smtp',
    },
    heloName: 'client.test',
    tls: undefined,
    user: undefined,
    transaction,
    recipient: options.recipient,
    headers: options.headers === undefined ? undefined : Buffer.from(options.headers, 'utf8'),
  };
}
