/**
 * How a test reaches a sink: in this process, where every read is a plain value, or through the
 * control API (`connectSink`), where every read is a promise. The sink interfaces (`MailSink`,
 * `MailSinkView`, `SinkFaults`) are written once over this, so the two kinds cannot drift.
 */
export type Reach = 'in-process' | 'remote';

/** The result of a read: the value in-process, a promise of it remotely. */
export type Read<R extends Reach, T> = R extends 'in-process' ? T : Promise<T>;

/**
 * A live value: a property in-process (`sink.accepted`, `handle.fired`), a method remotely
 * (`await remote.accepted()`), since a property cannot wait for an answer.
 */
export type Live<R extends Reach, T> = R extends 'in-process' ? T : () => Promise<T>;
