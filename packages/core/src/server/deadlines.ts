import { clearTimeout, setTimeout } from 'node:timers';

/** Why a deadline ended a session. */
export type DeadlineExpired = 'record' | 'session';

/**
 * The two deadlines of a connection besides the idle timeout, which every octet resets:
 * - per record (Postfix's `smtpd_per_record_deadline`): a command line, a line of message text or
 *   64 KiB of a BDAT chunk must arrive whole within `recordTimeout` ms of its first octet;
 * - per session: the whole session ends after `maxSessionTime` ms.
 * 0 turns either off. One timer each, moved with `refresh()`: no timer per chunk.
 *
 * @example const d = new Deadlines({ recordTimeout: 10_000, maxSessionTime: 0 }, (why) => end(why)); d.watch(true, 3);
 */
export class Deadlines {
  private record: NodeJS.Timeout | undefined;
  /** The session's record count when the running record deadline was set. */
  private recordAt = -1;
  private session: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: { readonly recordTimeout: number; readonly maxSessionTime: number },
    private readonly expired: (why: DeadlineExpired) => void,
  ) {
    if (limits.maxSessionTime > 0) {
      this.session = setTimeout(() => {
        this.session = undefined;
        this.expired('session');
      }, limits.maxSessionTime);
    }
  }

  /**
   * After input was read: `midRecord` says a record is partly in, `records` how many were completed.
   * A record still in progress keeps its deadline; a new one gets a fresh deadline; none stops it.
   */
  watch(midRecord: boolean, records: number): void {
    const ms = this.limits.recordTimeout;
    if (ms === 0) return;
    if (!midRecord) {
      this.pause();
      return;
    }
    if (this.record !== undefined && records === this.recordAt) return;
    this.recordAt = records;
    if (this.record !== undefined) {
      this.record.refresh();
      return;
    }
    this.record = setTimeout(() => {
      this.record = undefined;
      this.expired('record');
    }, ms);
  }

  /** The sink itself holds the client up (a delay, a TLS handshake): the record deadline stops. */
  pause(): void {
    if (this.record === undefined) return;
    clearTimeout(this.record);
    this.record = undefined;
  }

  /** The connection is over: no timer is left behind. */
  stop(): void {
    this.pause();
    clearTimeout(this.session);
    this.session = undefined;
  }
}
