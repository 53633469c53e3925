import { readFile } from 'node:fs/promises';
import getPort, { portNumbers } from 'get-port';
import { type ControlApiOptions, type ControlServer, serveControlApi } from '../control/api.js';
import { type ControlTarget, type SinkInfo, sinkTarget } from '../control/target.js';
import { resolveOptions } from '../server/options.js';
import { type Sink, type StartOptions, startSink } from '../server/sink.js';
import { testCertificate, writeCaFile } from '../tls/certificates.js';
import { type PortSpec, parseCommand, parseCount, parseDuration, parsePort, parseSize, UsageError } from './args.js';
import { logEvents, WorkerPool } from './cluster.js';
import { Monitor } from './monitor.js';

export const SERVE_HELP = `Usage: mailhole serve [options]

Runs an SMTP sink: accepts mail, counts it and forgets it (or keeps what --capture asks), and
serves the control API that \`mailhole wait\`, \`mailhole stats\` and connectSink() read.
With no options: SMTP on 127.0.0.1:2525, control API on 127.0.0.1:8025.

Where it listens
  --host ADDR               address to bind (default 127.0.0.1; the sink never listens beyond it unless told)
  --port PORT               SMTP port: a number, 0 for any free port, or a range such as 2525-2535
                            to take the first free one (default 2525)
  --hostname NAME           name in the greeting and EHLO reply (default localhost)
  --lmtp                    speak LMTP (RFC 2033) instead of SMTP

TLS (a generated test CA signs the certificate; clients verify it with --ca-file)
  --starttls                offer STARTTLS on the SMTP port
  --require-tls             refuse mail until STARTTLS (implies --starttls)
  --implicit-tls            also serve implicit TLS (RFC 8314) on --tls-port
  --tls-port PORT           implicit-TLS port: number, 0 or range (default 0; implies --implicit-tls)
  --ca-file PATH            write the CA certificate (PEM) to PATH for curl --cacert, swaks and the like

What it keeps
  --capture LEVEL           count (counters only), envelope (default) or full (raw messages too)
  --max-records N           delivery records kept (default 1000; older ones are dropped and counted)
  --max-capture-bytes SIZE  with --capture full, message octets kept at most (default 64M)

Limits
  --max-message-size SIZE   largest message, advertised as SIZE, e.g. 10M (default 64M; 0 = none)
  --max-recipients N        recipients per message (default 1000)
  --max-connections N       simultaneous connections (default 1000)
  --idle-timeout DURATION   silence before 421, e.g. 30s (default 2m)

Control API
  --api-port PORT           control API port: number, 0 or range (default 8025)
  --api-host ADDR           address of the control API (default 127.0.0.1)
  --token TOKEN             require "Authorization: Bearer TOKEN" (default: $MAILHOLE_API_TOKEN)
  --no-api                  serve no control API

Running
  --config FILE             JSON file with startSink options (flags override it)
  --workers N               spread connections over N processes (node:cluster); the API sums their counters
  --log MODE                live (a one-line counter, the default on a terminal), counters (a JSON line
                            per second when they change, the default otherwise), events (a JSON line per
                            connection and delivery too) or none
  -h, --help                show this help

Examples
  mailhole serve                                   # smtp://127.0.0.1:2525, API http://127.0.0.1:8025
  mailhole serve --port 0 --api-port 0             # any free ports, printed at start
  mailhole serve --port 2525-2535 --starttls --ca-file ./mailhole-ca.pem
  mailhole serve --capture full --max-capture-bytes 256M --token s3cret
  mailhole serve --workers 4 --log counters        # a load test that outgrows one core

Stop it with Ctrl-C (or SIGTERM): it closes every connection and prints a summary.
`;

const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  hostname: { type: 'string' },
  lmtp: { type: 'boolean' },
  starttls: { type: 'boolean' },
  'require-tls': { type: 'boolean' },
  'implicit-tls': { type: 'boolean' },
  'tls-port': { type: 'string' },
  'ca-file': { type: 'string' },
  capture: { type: 'string' },
  'max-records': { type: 'string' },
  'max-capture-bytes': { type: 'string' },
  'max-message-size': { type: 'string' },
  'max-recipients': { type: 'string' },
  'max-connections': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'api-port': { type: 'string' },
  'api-host': { type: 'string' },
  token: { type: 'string' },
  'no-api': { type: 'boolean' },
  config: { type: 'string' },
  workers: { type: 'string' },
  log: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

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
    options.capture = flags.capture as StartOptions['capture'];
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
  const workers = flags.workers === undefined ? 1 : parseCount(flags.workers, '--workers', 1);
  const log = logMode(flags.log);
  // Workers share a port chosen up front, so for them even "any free port" is picked here; one
  // process binds port 0 itself, which leaves no window for another program to take the port.
  const fixed = workers > 1;

  // Validate everything before binding anything, with the option names startSink uses.
  const probe = resolveOptions({ ...options, port: 0, tlsPort: 0 }, new Set(['tlsFault']));
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
  let controlApi: ControlServer | undefined;
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
    const url = `${resolved.lmtp ? 'lmtp' : 'smtp'}://${urlHost(host)}:${smtpPort}`;
    const address: Omit<SinkInfo, 'apiUrl' | 'workers'> = {
      host,
      port: smtpPort,
      url,
      ...(options.tlsPort !== undefined && (probe.tls === 'implicit' || probe.tls === 'both')
        ? { tlsPort: options.tlsPort, tlsUrl: `smtps://${urlHost(host)}:${options.tlsPort}` }
        : {}),
      ...(options.certificate?.ca !== undefined ? { ca: options.certificate.ca.toString() } : {}),
      options: {
        tls: resolved.tls,
        requireTls: resolved.requireTls,
        lmtp: resolved.lmtp,
        capture: resolved.capture,
        maxMessageSize: resolved.maxMessageSize,
        maxRecipients: resolved.maxRecipients,
        maxConnections: resolved.maxConnections,
        idleTimeout: resolved.idleTimeout,
        maxRecords: resolved.maxRecords,
        maxCaptureBytes: resolved.maxCaptureBytes,
      },
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
  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // A second Ctrl-C: the user does not want to wait for a clean close.
        process.exit(130);
      }
      stopping = true;
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
          process.exitCode = 1;
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
    ...(controlApi ? { api: controlApi.url, token: api?.token !== undefined } : {}),
    ...(caFile !== undefined ? { ca: caFile } : {}),
    capture: info.options.capture,
    workers,
    pid: process.pid,
    ...(pool ? { workerPids: pool.pids } : {}),
  });
  // A signal during the CA write already stopped everything: no counter may outlive it.
  if (!stopping) monitor.start();
  await stopped;
}

/** A port clash told in the CLI's words: which flag to change, and how. */
function inUse(error: unknown): unknown {
  const message = (error as Error)?.message ?? '';
  const m = /^(?:startSink|control API): (\S+) is already in use/.exec(message);
  if (m === null) return error;
  const flag = message.startsWith('control API')
    ? '--api-port'
    : message.includes('"tlsPort"')
      ? '--tls-port'
      : '--port';
  return new Error(
    `${m[1]} is already in use; choose another ${flag} (0 takes any free port, a range such as 2525-2535 the first free one)`,
    { cause: error },
  );
}

function logMode(value: string | undefined): LogMode {
  if (value === undefined) return process.stdout.isTTY ? 'live' : 'counters';
  if (!['live', 'counters', 'events', 'none'].includes(value)) {
    throw new UsageError(`--log must be live, counters, events or none, got ${JSON.stringify(value)}`);
  }
  return value as LogMode;
}

function portOption(value: unknown, flag: string, fallback: number): PortSpec {
  if (value === undefined) return { port: fallback };
  if (typeof value === 'number') return parsePort(String(value), flag);
  if (typeof value === 'string') return parsePort(value, flag);
  throw new UsageError(`${flag} (config) must be a port number or a range string such as "2525-2535"`);
}

/** A port to bind: explicit ones are used as they are (a clash is reported by the listener), ranges give the first free one. */
async function choosePort(spec: PortSpec, host: string, flag: string, fixZero: boolean): Promise<number> {
  if ('port' in spec) return spec.port === 0 && fixZero ? getPort({ host }) : spec.port;
  const port = await getPort({ port: portNumbers(spec.from, spec.to), host });
  if (port < spec.from || port > spec.to) {
    throw new UsageError(`${flag} ${spec.from}-${spec.to}: every port in the range is in use; widen it or use 0`);
  }
  return port;
}

async function readConfig(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `--config ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--config ${path}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(
      `--config ${path}: must hold a JSON object with startSink options, e.g. {"port": 2525, "capture": "full"}`,
    );
  }
  return value as Record<string, unknown>;
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
