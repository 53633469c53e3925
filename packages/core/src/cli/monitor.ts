import type { SinkStats } from '../record/recorder.js';

/** What `mailhole serve` prints once it listens (also the first JSON line, for scripts that parse it). */
export interface ListeningInfo {
  version: string;
  smtp: string;
  smtps?: string;
  starttls?: 'offered' | 'required';
  api?: string;
  /** The web inbox (`<api>/`), open it in a browser. */
  inbox?: string;
  token?: boolean;
  ca?: string;
  capture: string;
  /** What the sink answers beyond accepting everything: mode, delays, header switches, AUTH, faults. */
  behaviour: string;
  /** Seed of every random choice: `--seed` repeats the run. */
  seed: number;
  workers: number;
  pid: number;
  workerPids?: number[];
}

/**
 * What `mailhole serve` shows while it runs: on a terminal a one-line counter refreshed four
 * times a second (like Postfix's smtp-sink -c); otherwise a JSON line per second when the
 * counters changed, so a log stays readable and greppable.
 */
export class Monitor {
  private timer: NodeJS.Timeout | undefined;
  private last = '';
  /** Recent (time, accepted) samples for the msg/s figure. */
  private samples: Array<[number, number]> = [];
  private lineShown = false;

  constructor(
    private readonly mode: 'live' | 'counters' | 'events' | 'none',
    private readonly stats: () => SinkStats,
  ) {}

  private get human(): boolean {
    return this.mode === 'live' || (this.mode === 'none' && process.stdout.isTTY === true);
  }

  listening(info: ListeningInfo): void {
    if (!this.human) {
      this.json({ event: 'listening', ...info });
      return;
    }
    const lines = [`mailhole ${info.version} is listening${info.workers > 1 ? ` (${info.workers} workers)` : ''}`];
    lines.push(`  SMTP      ${info.smtp}${info.starttls ? ` (STARTTLS ${info.starttls})` : ''}`);
    if (info.smtps) lines.push(`  SMTPS     ${info.smtps}`);
    if (info.api) lines.push(`  API       ${info.api}${info.token ? ' (bearer token required)' : ''}`);
    if (info.inbox)
      lines.push(`  Inbox     ${info.inbox}${info.token ? '#token=<your token>' : ''} (open it in a browser)`);
    if (info.ca) lines.push(`  CA        ${info.ca}`);
    else if (info.starttls || info.smtps)
      lines.push('  CA        not written (add --ca-file PATH; GET /api/info has it too)');
    lines.push(
      `  capture   ${info.capture}`,
      `  answers   ${info.behaviour}; seed ${info.seed}`,
      'Press Ctrl-C to stop.',
      '',
    );
    process.stdout.write(lines.join('\n'));
  }

  start(): void {
    if (this.mode === 'none') return;
    // A log line says what changed: the all-zero counters of a fresh start say nothing.
    if (this.mode !== 'live') this.last = JSON.stringify(this.stats());
    const every = this.mode === 'live' ? 250 : 1000;
    this.timer = setInterval(() => this.tick(), every);
    this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.lineShown) process.stdout.write('\n');
    this.lineShown = false;
  }

  /** Something the user should know (a worker died): its own line, the counter redrawn after it. */
  notice(message: string): void {
    if (this.human) {
      process.stdout.write(`${this.lineShown ? '\r\x1b[2K' : ''}mailhole: ${message}\n`);
      this.lineShown = false;
    } else {
      this.json({ event: 'notice', message });
    }
  }

  summary(stats: SinkStats, uptimeMs: number, signal: string): void {
    if (this.human) {
      process.stdout.write(
        `mailhole stopped (${signal}) after ${(uptimeMs / 1000).toFixed(1)} s: ${stats.accepted} accepted, ${stats.rejected} rejected, ${stats.connections} connection(s), ${stats.transactions} transaction(s), ${stats.recipientsAccepted} recipient(s)\n`,
      );
    } else {
      this.json({ event: 'summary', signal, uptimeMs, ...stats });
    }
  }

  private tick(): void {
    const stats = this.stats();
    const now = Date.now();
    const rate = this.rate(now, stats.accepted);
    if (this.mode === 'live') {
      const line = `connections ${stats.connections} (${stats.activeConnections} open) · accepted ${stats.accepted} · rejected ${stats.rejected} · ${rate.toFixed(1)} msg/s`;
      process.stdout.write(`\r\x1b[2K${line}`);
      this.lineShown = true;
      return;
    }
    const text = JSON.stringify(stats);
    if (text === this.last) return;
    this.last = text;
    this.json({ event: 'stats', time: new Date(now).toISOString(), ...stats, rate: Math.round(rate * 10) / 10 });
  }

  /** Accepted deliveries per second over the last second or so. */
  private rate(now: number, accepted: number): number {
    const samples = this.samples;
    if (samples.length > 0 && accepted < (samples[samples.length - 1] as [number, number])[1]) samples.length = 0;
    samples.push([now, accepted]);
    while (samples.length > 2 && now - (samples[1] as [number, number])[0] >= 1000) samples.shift();
    const [t0, a0] = samples[0] as [number, number];
    return now > t0 ? ((accepted - a0) * 1000) / (now - t0) : 0;
  }

  private json(value: object): void {
    process.stdout.write(`${JSON.stringify(value)}\n`);
  }
}
