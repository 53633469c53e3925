import type { FromWorker, ToWorker } from '../control/worker-pool.js';
import type { Sink } from '../server/sink.js';
import { startSink } from '../start.js';

/** A worker's counters push at most this often (and on every change, after it), so waits stay exact and cheap. */
const PUSH_MS = 20;

/**
 * The worker side: waits for its options, starts a sink on the shared port and pushes its
 * counters to the primary whenever they change. Ends when told, when the primary goes away
 * (the IPC channel closes) or on SIGTERM; ignores SIGINT, which the primary handles for all.
 */
export function runWorker(): void {
  const send = (message: FromWorker): Promise<void> =>
    new Promise((resolve) => {
      if (!process.connected || process.send === undefined) resolve();
      else process.send(message, undefined, {}, () => resolve());
    });
  let stop: (() => Promise<void>) | undefined;
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    (stop?.() ?? Promise.resolve()).finally(() => {
      // Leaving the IPC channel lets the process end once stdout is flushed; the timer is a last resort.
      if (process.connected) process.disconnect();
      setTimeout(() => process.exit(0), 3000).unref();
    });
  };
  process.on('SIGINT', () => {});
  process.once('SIGTERM', shutdown);
  process.once('disconnect', shutdown);
  process.on('message', async (message: ToWorker) => {
    if (message.type === 'shutdown') shutdown();
    if (message.type !== 'start') return;
    let sink: Awaited<ReturnType<typeof startSink>>;
    try {
      sink = await startSink({ ...message.options, clusterShared: true });
    } catch (error) {
      await send({ type: 'failed', message: (error as Error).message });
      process.exit(1);
    }
    let epoch = 0;
    let timer: NodeJS.Timeout | undefined;
    let last = '';
    const push = (): Promise<void> => {
      timer = undefined;
      const stats = sink.stats();
      const text = JSON.stringify(stats);
      if (text === last) return Promise.resolve();
      last = text;
      return send({ type: 'stats', epoch, stats, mark: sink.mark() });
    };
    const changed = (): void => {
      timer ??= setTimeout(push, PUSH_MS);
    };
    for (const event of ['connection', 'disconnect', 'delivery', 'transaction', 'fault'] as const)
      sink.on(event, changed);
    // Octet counters move without events; a slow heartbeat catches them.
    const heartbeat = setInterval(push, 1000);
    if (message.logEvents) logEvents(sink);
    process.on('message', (control: ToWorker) => {
      if (control.type !== 'reset') return;
      sink.reset();
      epoch = control.epoch;
      last = '';
      void push();
    });
    stop = async () => {
      clearInterval(heartbeat);
      clearTimeout(timer);
      await sink.close();
      last = '';
      await push();
    };
    last = JSON.stringify(sink.stats());
    await send({ type: 'listening', port: sink.port, tlsPort: sink.tlsPort, stats: sink.stats(), mark: sink.mark() });
  });
  void send({ type: 'ready' });
}

/** One JSON line per event on stdout (`--log events`). */
export function logEvents(sink: Pick<Sink, 'on'>): void {
  const line = (event: string, data: object): void => {
    process.stdout.write(`${JSON.stringify({ event, time: new Date().toISOString(), pid: process.pid, ...data })}\n`);
  };
  sink.on('connection', (c) =>
    line('connection', { id: c.id, client: `${c.remoteAddress}:${c.remotePort}`, listener: c.listener }),
  );
  sink.on('delivery', (r) =>
    line('delivery', {
      id: r.id,
      accepted: r.accepted,
      sender: r.sender,
      recipients: r.recipients,
      size: r.size,
      reply: `${r.reply.code}${r.reply.enhanced ? ` ${r.reply.enhanced}` : ''} ${r.reply.text}`,
      ...(r.subject !== undefined ? { subject: r.subject } : {}),
    }),
  );
  sink.on('disconnect', (d) => line('disconnect', { id: d.connectionId, client: d.client, lastReply: d.lastReply }));
  sink.on('fault', (f) =>
    line('fault', { rule: f.rule, stage: f.stage, action: f.action, connectionId: f.connectionId }),
  );
}
