import type { SessionSnapshot } from '../protocol/session.js';
import type { ConnectionInfo } from '../protocol/types.js';
import type { Connection } from './connection.js';

/**
 * A connection open right now, as `sink.sessions()` lists it.
 *
 * @example const [live] = sink.sessions(); sink.dropSession(live.id);
 */
export interface LiveSession extends SessionSnapshot {
  /** The connection's number (the `connectionId` of events and records). */
  id: number;
  connection: ConnectionInfo;
}

/** How `dropSession` ends a connection: a TCP reset (default), a FIN without a reply, or `421` first. */
export type DropMode = 'reset' | 'close' | '421';

export function liveSession(connection: Connection): LiveSession {
  const info = connection.session.connection;
  return { id: info.id, connection: info, ...connection.session.snapshot() };
}

/** The live connection with this id, if any. */
export function connectionById(connections: Iterable<Connection>, id: number): Connection | undefined {
  for (const connection of connections) if (connection.session.connection.id === id) return connection;
  return undefined;
}
