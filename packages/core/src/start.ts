import { type ControlApiOptions, serveControlApi } from './control/api.js';
import { sinkTarget } from './control/target.js';
import { listenSink } from './server/listen.js';
import type { EngineOptions, Sink } from './server/sink.js';

/** Options of `startSink`: the engine's (`SinkOptions`, TLS faults) plus the control API. */
export interface StartOptions extends EngineOptions {
  /**
   * Serve the HTTP control API too (`true`: on 127.0.0.1, any free port); read its URL from `sink.apiUrl`.
   * Another process reaches the sink with `connectSink(sink.apiUrl)`.
   */
  api?: ControlApiOptions | boolean;
}

/**
 * Starts a sink and resolves once every listener is bound (and its control API, with `api`).
 *
 * This is the composition root: the engine (server/) never imports the control API (control/);
 * both are put together here.
 *
 * @example
 * const sink = await startSink({ tls: 'starttls' });
 * // nodemailer: createTransport({ host: sink.host, port: sink.port, requireTLS: true, tls: sink.clientTls() })
 */
export async function startSink(options: StartOptions = {}): Promise<Sink> {
  const { api, ...engine } = options;
  const apiOn = api !== undefined && api !== false;
  // Transcripts feed the web inbox: on with the API unless the options say otherwise.
  const sink = await listenSink(apiOn && engine.transcripts === undefined ? { ...engine, transcripts: true } : engine);
  if (apiOn) {
    try {
      sink.controlApi = await serveControlApi(sinkTarget(sink), api === true ? {} : api);
    } catch (error) {
      await sink.close();
      throw error;
    }
  }
  return sink;
}
