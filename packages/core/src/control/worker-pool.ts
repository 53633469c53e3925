import cluster, { type Worker } from 'node:cluster';
import type { Mark, SinkStats } from '../record/recorder.js';
import { checkWaitCount, sinkClosedError, Waiters, waitTimedOut, waitTimeout } from '../record/wait.js';
import type { EngineOptions } from '../server/sink.js';
import type { ControlTarget, SinkInfo } from './target.js';

/**
 * `mailhole serve --workers N`: node:cluster workers share the SMTP port (the primary hands out
 * connections round-robin) and each runs its own sink. Every worker pushes its counters to the
 * primary on change; the primary serves the control API with their sums. Delivery records stay in
 * the workers, so the API answers counts, marks and count waits, not record queries.
 */

/** @internal Primary → worker. */
export type ToWorker =
  | { type: 'start'; options: EngineOptions; logEvents: boolean }
  | { type: 'reset'; epoch: number }
  | { type: 'shutdown' };

/** @internal Worker → primary. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'listening'; port: number; tlsPort: number | undefined; stats: SinkStats; mark: Mark }
  | { type: 'stats'; epoch: number; stats: SinkStats; mark: Mark }
  | { type: 'failed'; message: string };

interface WorkerState {
  worker: Worker;
  stats: SinkStats | undefined;
  mark: Mark;
  epoch: number;
}

/** The primary's view of its workers: the control target of the API, and the start/stop of the workers. */
export class WorkerPool implements ControlTarget {
  private readonly states = new Map<number, WorkerState>();
  private epoch = 0;
  private readonly waiters = new Waiters();
  private readonly resetAcks = new Set<() => void>();
  private stopping = false;

  constructor(
    private readonly count: number,
    private readonly options: EngineOptions,
    private readonly address: Omit<SinkInfo, 'apiUrl' | 'workers'>,
    private readonly onWorkerExit: (message: string) => void,
  ) {}

  /** Forks the workers and resolves once every one is listening. */
  start(logEvents: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      let listening = 0;
      for (let i = 0; i < this.count; i++) {
        const worker = cluster.fork({ MAILHOLE_WORKER: '1' });
        const state: WorkerState = { worker, stats: undefined, mark: { seq: 0, acceptedTotal: 0 }, epoch: 0 };
        this.states.set(worker.id, state);
        worker.on('message', (message: FromWorker) => {
          if (message.type === 'ready') {
            // Only now: an ES module worker listens for messages after it loaded, and earlier ones are lost.
            worker.send({ type: 'start', options: this.options, logEvents } satisfies ToWorker);
          } else if (message.type === 'listening') {
            // The first counters come with it, so the sums are whole from the first API request on.
            state.stats = message.stats;
            state.mark = message.mark;
            if (++listening === this.count) resolve();
          } else if (message.type === 'failed') {
            reject(new Error(message.message));
          } else if (message.type === 'stats') {
            if (message.epoch !== this.epoch) return;
            state.stats = message.stats;
            state.mark = message.mark;
            state.epoch = message.epoch;
            for (const ack of this.resetAcks) ack();
            this.waiters.check();
          }
        });
        worker.once('exit', (code, signal) => {
          if (!this.stopping) {
            this.onWorkerExit(
              `worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); its counts so far are kept`,
            );
            reject(
              new Error(
                `mailhole serve: worker ${worker.process.pid} exited before listening (${signal ?? `code ${code}`})`,
              ),
            );
          }
        });
      }
    });
  }

  /** Asks every worker to close its sink and send its final counters, then waits for them to exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.waiters.failAll(sinkClosedError());
    await Promise.all(
      [...this.states.values()].map(
        ({ worker }) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) {
              resolve();
              return;
            }
            worker.once('exit', () => resolve());
            // A worker that does not finish promptly is killed: no orphan outlives `mailhole serve`.
            const kill = setTimeout(() => worker.process.kill('SIGKILL'), 5000);
            worker.once('exit', () => clearTimeout(kill));
            try {
              worker.send({ type: 'shutdown' } satisfies ToWorker);
            } catch {
              worker.process.kill('SIGKILL');
            }
          }),
      ),
    );
  }

  /** Process ids of the workers. */
  get pids(): number[] {
    return [...this.states.values()].map((s) => s.worker.process.pid as number);
  }

  // --- ControlTarget --------------------------------------------------------------------------

  info(): Omit<SinkInfo, 'apiUrl'> {
    return { ...this.address, workers: this.count };
  }

  stats(): SinkStats {
    const sum: Record<string, number> = {};
    for (const { stats } of this.states.values()) {
      if (stats === undefined) continue;
      for (const [key, value] of Object.entries(stats)) sum[key] = (sum[key] ?? 0) + value;
    }
    return sum as unknown as SinkStats;
  }

  mark(): Mark {
    let seq = 0;
    let acceptedTotal = 0;
    for (const { mark } of this.states.values()) {
      seq += mark.seq;
      acceptedTotal += mark.acceptedTotal;
    }
    return { seq, acceptedTotal };
  }

  reset(): Promise<void> {
    this.epoch++;
    const epoch = this.epoch;
    const live = [...this.states.values()].filter((s) => !s.worker.isDead());
    for (const state of live) state.worker.send({ type: 'reset', epoch } satisfies ToWorker);
    // Counters pushed before a worker saw the reset carry the old epoch and are ignored; wait for the new ones.
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, 5000);
      function done(): void {
        clearTimeout(timer);
        acks.delete(check);
        resolve();
      }
      const acks = this.resetAcks;
      const check = (): void => {
        if (live.every((s) => s.epoch === epoch)) done();
      };
      acks.add(check);
      check();
    });
  }

  describe(): string {
    const c = this.stats();
    return [
      `The sink saw ${c.connections ?? 0} connection(s), ${c.transactions ?? 0} transaction(s), ${c.accepted ?? 0} accepted and ${c.rejected ?? 0} rejected deliveries across ${this.count} workers.`,
      'Delivery records stay in the worker processes: run mailhole serve without --workers to list them.',
    ].join('\n');
  }

  recordsUnavailable(): string {
    return 'mailhole serve --workers keeps delivery records in each worker process: the API answers counts, marks and count waits only; run without --workers to query deliveries, messages or filters';
  }

  messagesUnavailable(): string {
    return this.recordsUnavailable();
  }

  deliveries(): never {
    throw new Error(this.recordsUnavailable());
  }

  messages(): never {
    throw new Error(this.recordsUnavailable());
  }

  message(): never {
    throw new Error(this.recordsUnavailable());
  }

  waitFor(target: unknown, options: { timeout?: number; since?: Mark; signal?: AbortSignal }): Promise<never[]> {
    if (typeof target !== 'number') return Promise.reject(new Error(this.recordsUnavailable()));
    let timeout: number;
    try {
      timeout = waitTimeout(options.timeout);
      checkWaitCount(target);
    } catch (error) {
      return Promise.reject(error);
    }
    const since = options.since;
    const got = (): number =>
      since === undefined ? this.stats().accepted : this.mark().acceptedTotal - since.acceptedTotal;
    return this.waiters.wait(
      () => (got() >= target ? [] : undefined),
      timeout,
      options.signal,
      () => waitTimedOut(timeout, target, got(), undefined, this.describe()),
    );
  }
}
