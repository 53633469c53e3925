import { type ControlApiOptions, isLoopback, serveControlApi, UnauthenticatedApiError } from '../control/api.js';
import { type ControlTarget, infoOptions, type SinkInfo, sinkTarget } from '../control/target.js';
import { WorkerPool } from '../control/worker-pool.js';
import { type ResolvedOptions, resolveOptions } from '../server/options.js';
import type { AttachedService, Sink } from '../server/sink.js';
import { listenerUrl } from '../server/url.js';
import { type StartOptions, startSink } from '../start.js';
import { testCertificate, writeCaFile } from '../tls/certificates.js';
import { serverNameFor } from '../tls/server-name.js';
import { EXIT, parseCommand, parseCount, parseDuration, parsePort, parseSize, UsageError } from './args.js';
import { logEvents } from './cluster.js';
import { Monitor } from './monitor.js';

import { FLAGS, SERVE_HELP } from './serve-flags.js';
import {
  behaviourFlags,
  choosePort,
  configBehaviour,
  describeBehaviour,
  inUse,
  portOption,
  readConfig,
} from './serve-options.js';

type LogMode = 'live' | 'counters' | 'events' | 'none';

/** `mailhole serve`: resolves when the sink has stopped (after SIGINT or SIGTERM). */
export async function serve(args: string[], version: string): Promise<void> {
  const flags = parseCommand('serve', args, FLAGS);
  if (flags.help) {
    process.stdout.write(SERVE_HELP);
    return;
  }
  const config = flags.config === undefined ? {} : await readConfig(flags.config);
  const { api: configApi, ...configOptions } = config as StartOptions & { api?: ControlApiOptions | boolean };
  const options: StartOptions = { ...configOptions };
  if (flags.config !== undefined) await configBehaviour(options, flags.config);
  await behaviourFlags(flags, options);

  if (flags.host !== undefined) options.host = flags.host;
  options.host ??= '127.0.0.1';
  if (flags.hostname !== undefined) options.hostname = flags.hostname;
  if (flags.lmtp) options.lmtp = true;
  const starttls = flags.starttls || flags['require-tls'];
  const implicit = flags['implicit-tls'] || flags['tls-port'] !== undefined;
  if (starttls || implicit) {
    const current = options.tls ?? 'none';
    const wantsStarttls = starttls || current === 'starttls' || current === 'both';
    const wantsImplicit = implicit || current === 'implicit' || current === 'both';
    options.tls = wantsStarttls && wantsImplicit ? 'both' : wantsStarttls ? 'starttls' : 'implicit';
  }
  if (flags['require-tls']) options.requireTls = true;
  if (flags.capture !== undefined) {
    if (!['count', 'envelope', 'full'].includes(flags.capture)) {
      throw new UsageError(`--capture must be count, envelope or full, got ${JSON.stringify(flags.capture)}`);
    }
    options.capture = flags.capture as NonNullable<StartOptions['capture']>;
  }
  if (flags['max-records'] !== undefined) options.maxRecords = parseCount(flags['max-records'], '--max-records');
  if (flags['max-capture-bytes'] !== undefined) {
    options.maxCaptureBytes = parseSize(flags['max-capture-bytes'], '--max-capture-bytes');
  }
  if (flags['max-message-size'] !== undefined) {
    options.maxMessageSize = parseSize(flags['max-message-size'], '--max-message-size');
  }
  if (flags['max-recipients'] !== undefined) {
    options.maxRecipients = parseCount(flags['max-recipients'], '--max-recipients', 1);
  }
  if (flags['max-connections'] !== undefined) {
    options.maxConnections = parseCount(flags['max-connections'], '--max-connections', 1);
  }
  if (flags['idle-timeout'] !== undefined) options.idleTimeout = parseDuration(flags['idle-timeout'], '--idle-timeout');
  if (flags['record-timeout'] !== undefined) {
    options.recordTimeout = parseDuration(flags['record-timeout'], '--record-timeout');
  }
  if (flags['max-session-time'] !== undefined) {
    options.maxSessionTime = parseDuration(flags['max-session-time'], '--max-session-time');
  }
  if (flags['max-connections-per-address'] !== undefined) {
    options.maxConnectionsPerAddress = parseCount(
      flags['max-connections-per-address'],
      '--max-connections-per-address',
    );
  }
  if (flags['max-invalid-commands'] !== undefined) {
    options.maxInvalidCommands = parseCount(flags['max-invalid-commands'], '--max-invalid-commands', 1);
  }
  if (flags['soft-error-limit'] !== undefined) {
    options.softErrorLimit = parseCount(flags['soft-error-limit'], '--soft-error-limit');
  }
  if (flags['error-delay'] !== undefined) options.errorDelay = parseDuration(flags['error-delay'], '--error-delay');
  if (flags['max-rejected-recipients'] !== undefined) {
    options.maxRejectedRecipients = parseCount(flags['max-rejected-recipients'], '--max-rejected-recipients');
  }
  const workers = flags.workers === undefined ? 1 : parseCount(flags.workers, '--workers', 1);
  const log = logMode(flags.log);
  // Workers share a port chosen up front, so for them even "any free port" is picked here; one
  // process binds port 0 itself, which leaves no window for another program to take the port.
  const fixed = workers > 1;

  // Validate everything before binding anything, with the option names startSink uses. The flags
  // were checked one by one above, so what fails here comes from --config (or how they combine).
  let probe: ResolvedOptions;
  try {
    probe = resolveOptions({ ...options, port: 0, tlsPort: 0 }, new Set(['tlsFault']));
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError)) throw error;
    const what = error.message.replace(/^startSink: /, '');
    throw new UsageError(flags.config === undefined ? `mailhole serve: ${what}` : `--config ${flags.config}: ${what}`);
  }
  // Workers draw from one seed, so the seed GET /api/info reports repeats the run.
  if (fixed) options.seed ??= probe.behaviour.seed;
  if (flags['ca-file'] !== undefined && probe.tls === 'none') {
    throw new UsageError('--ca-file needs TLS: add --starttls, --implicit-tls or --tls-port');
  }

  const host = options.host;
  const smtpPort = await choosePort(
    flags.port === undefined ? portOption(options.port, '--port', 2525) : parsePort(flags.port, '--port'),
    host,
    '--port',
    fixed,
  );
  options.port = smtpPort;
  if (probe.tls === 'implicit' || probe.tls === 'both') {
    options.tlsPort = await choosePort(
      flags['tls-port'] === undefined
        ? portOption(options.tlsPort, '--tls-port', 0)
        : parsePort(flags['tls-port'], '--tls-port'),
      host,
      '--tls-port',
      fixed,
    );
  }

  let api: ControlApiOptions | undefined;
  if (!flags['no-api'] && configApi !== false) {
    const base: ControlApiOptions = typeof configApi === 'object' && configApi !== null ? { ...configApi } : {};
    if (flags['api-host'] !== undefined) base.host = flags['api-host'];
    base.host ??= '127.0.0.1';
    const token = flags.token ?? base.token ?? process.env.MAILHOLE_API_TOKEN;
    if (token !== undefined && token !== '') base.token = token;
    if (flags['api-allow-unauthenticated']) base.allowUnauthenticated = true;
    // Checked before anything binds: the sink must not start at all with an open API by accident.
    if (!isLoopback(base.host) && base.token === undefined && base.allowUnauthenticated !== true) {
      throw new UsageError(`mailhole serve: ${new UnauthenticatedApiError(base.host).message}`);
    }
    if (flags['max-waits'] !== undefined) base.maxWaits = parseCount(flags['max-waits'], '--max-waits', 1);
    if (flags['max-wait-timeout'] !== undefined) {
      base.maxWaitTimeout = parseDuration(flags['max-wait-timeout'], '--max-wait-timeout');
    }
    base.port = await choosePort(
      flags['api-port'] === undefined
        ? portOption(base.port, '--api-port', 8025)
        : parsePort(flags['api-port'], '--api-port'),
      base.host,
      '--api-port',
      false,
    );
    api = base;
  }

  const started = Date.now();
  let target: ControlTarget;
  let info: Omit<SinkInfo, 'apiUrl'>;
  let sink: Sink | undefined;
  let pool: WorkerPool | undefined;
  let controlApi: AttachedService | undefined;
  const monitor = new Monitor(log, () => target.stats());

  if (workers === 1) {
    sink = await startSink({ ...options, ...(api ? { api } : {}) }).catch((error: unknown) => {
      throw inUse(error);
    });
    controlApi = sink.controlApi;
    target = sinkTarget(sink);
    info = target.info();
    if (log === 'events') logEvents(sink);
  } else {
    // One CA for every worker: clients trust one file whichever process answers.
    if (probe.tls !== 'none' && options.certificate === undefined) {
      const certificate = await testCertificate({
        hostnames: probe.tlsHostnames,
        ...(probe.tlsCacheDir ? { cacheDir: probe.tlsCacheDir } : {}),
      });
      options.certificate = { key: certificate.key, cert: certificate.cert, ca: certificate.ca };
    }
    const resolved = resolveOptions(options, new Set(['tlsFault']));
    const url = listenerUrl(resolved.lmtp ? 'lmtp' : 'smtp', host, smtpPort);
    const address: Omit<SinkInfo, 'apiUrl' | 'workers'> = {
      host,
      port: smtpPort,
      url,
      ...(options.tlsPort !== undefined && (probe.tls === 'implicit' || probe.tls === 'both')
        ? { tlsPort: options.tlsPort, tlsUrl: listenerUrl('smtps', host, options.tlsPort) }
        : {}),
      ...(options.certificate?.ca !== undefined
        ? {
            ca: options.certificate.ca.toString(),
            // As each worker's sink.clientTls() names it: a client verifies any worker the same way.
            servername: serverNameFor(options.certificate.cert.toString()),
          }
        : {}),
      seed: resolved.behaviour.seed,
      options: infoOptions(resolved),
    };
    pool = new WorkerPool(workers, options, address, (message) => monitor.notice(message));
    try {
      await pool.start(log === 'events');
    } catch (error) {
      await pool.stop();
      throw inUse(error);
    }
    target = pool;
    info = pool.info();
    if (api) {
      controlApi = await serveControlApi(pool, api).catch(async (error: unknown) => {
        await pool?.stop();
        throw inUse(error);
      });
    }
  }

  // Signal handlers go in before the address is printed: a script that reads it and signals at once must get a clean stop.
  let stopping: NodeJS.Signals | undefined;
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping !== undefined) {
        // A second Ctrl-C: the user does not want to wait for a clean close. A different signal
        // is not that: Ctrl-C under `pnpm exec` brings SIGINT from the terminal and SIGTERM from
        // pnpm passing the stop on, and both mean "stop cleanly".
        if (signal === stopping) process.exit(EXIT.interrupted);
        return;
      }
      stopping = signal;
      monitor.stop();
      const closing = sink ? sink.close() : Promise.all([controlApi?.close(), pool?.stop()]);
      closing.then(
        () => {
          monitor.summary(target.stats(), Date.now() - started, signal);
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        },
        (error: unknown) => {
          process.stderr.write(`mailhole serve: error while closing: ${(error as Error).message}\n`);
          process.exitCode = EXIT.failed;
          resolve();
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const caFile =
    flags['ca-file'] === undefined || info.ca === undefined ? undefined : await writeCaFile(info.ca, flags['ca-file']);
  monitor.listening({
    version,
    smtp: info.url,
    ...(info.tlsUrl !== undefined ? { smtps: info.tlsUrl } : {}),
    ...(info.options.tls === 'starttls' || info.options.tls === 'both'
      ? { starttls: info.options.requireTls ? 'required' : 'offered' }
      : {}),
    ...(controlApi ? { api: controlApi.url, inbox: `${controlApi.url}/`, token: api?.token !== undefined } : {}),
    ...(caFile !== undefined ? { ca: caFile } : {}),
    capture: info.options.capture,
    behaviour: describeBehaviour(info, options),
    seed: info.seed,
    workers,
    pid: process.pid,
    ...(pool ? { workerPids: pool.pids } : {}),
  });
  // A signal during the CA write already stopped everything: no counter may outlive it.
  if (stopping === undefined) monitor.start();
  await stopped;
}

function logMode(value: string | undefined): LogMode {
  if (value === undefined) return process.stdout.isTTY ? 'live' : 'counters';
  if (!['live', 'counters', 'events', 'none'].includes(value)) {
    throw new UsageError(`--log must be live, counters, events or none, got ${JSON.stringify(value)}`);
  }
  return value as LogMode;
}
