import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import getPort, { portNumbers } from 'get-port';
import type { AuthOptions } from '../behaviour/auth.js';
import type { FaultRule } from '../behaviour/faults.js';
import { bounceCodes } from '../behaviour/replies.js';
import {
  type ControlApiOptions,
  type ControlServer,
  isLoopback,
  serveControlApi,
  UnauthenticatedApiError,
} from '../control/api.js';
import { type ControlTarget, infoOptions, type SinkInfo, sinkTarget } from '../control/target.js';
import { type ResolvedOptions, resolveOptions } from '../server/options.js';
import { type Sink, type StartOptions, startSink } from '../server/sink.js';
import { testCertificate, writeCaFile } from '../tls/certificates.js';
import { serverNameFor } from '../tls/server-name.js';
import { type PortSpec, parseCommand, parseCount, parseDuration, parsePort, parseSize, UsageError } from './args.js';
import {
  parseDelayRange,
  parseDelays,
  parseFault,
  parseMode,
  parseRatio,
  parseSeed,
  readUsersFile,
} from './behaviour-flags.js';
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

How it answers (header switches are ON for serve, as the black-hole MTA it replaces had them)
  --mode MODE               final reply to each message: accept (default), bounce (a code from
                            ${bounceCodes.join(' ')}) or random
  --accept-ratio R          with --mode random, the share of messages accepted, 0 to 1 (default 0.5)
  --seed N                  seed of every random choice (0-4294967295), to repeat a run; the seed in
                            force is printed at start and in GET /api/info
  --delay DELAY             wait before the final reply: 250 (ms), 2s, or a range 100-500 / 1s-3s;
                            STAGE=DELAY delays another stage, e.g. --delay greeting=5s (repeatable)
  --header-switches         honour X-Blackhole-Mode / X-Blackhole-Delay and X-Mailhole-Mode, -Delay,
                            -Reply, -Accept-Ratio headers in each message (the default for serve)
  --no-header-switches      ignore them (the fastest path under load)
  --lenient                 accept commands out of order (MAIL before EHLO …), as the black-hole MTA did

AUTH (RFC 4954: PLAIN, LOGIN, CRAM-MD5, XOAUTH2)
  --auth                    offer AUTH and accept any user and password
  --auth-users FILE         offer AUTH for these users only: a JSON object {"user": "password"} or
                            user:password lines; others get 535 (passwords are never printed)
  --require-auth            refuse MAIL with 530 until the client authenticated (implies --auth)

Faults (repeatable; rules can also be added and removed at run time: POST /api/faults, sink.faults)
  --fault RULE              a JSON rule, e.g. '{"stage":"rcpt","match":{"recipient":"*@spam.test"},"action":"554"}',
                            or a short form:
                              fail-next[:CODE[:COUNT]]          the next COUNT messages (1) get CODE (451)
                              bounce-recipient:PATTERN[:CODE]   RCPT to PATTERN (glob or /regexp/flags)
                                                                gets CODE (550) until removed
                              greylist[:RETRY]                  451 4.7.1 to each first attempt; a retry
                                                                passes (after RETRY, e.g. 30s)
                              disconnect[:STAGE]                421 and close, once, at STAGE (message)
                              delay:STAGE:DELAY                 delay STAGE's reply, e.g. delay:rcpt:0-200
                              PRESET[:RECIPIENT]                a provider's documented reply, e.g.
                                                                gmail.unknownUser:*@gone.test (README)
                              rbl:LIST[:CIDR,...]               Postfix reject_rbl_client reply (554 5.7.1)
                                                                for listed client IPs (default all)
                              rhsbl-sender|rhsbl-recipient|rhsbl-helo:LIST[:DOMAIN,...]
                                                                the reject_rhsbl_* reply for listed domains
                              STAGE=ACTION                      e.g. 'rcpt=550 5.1.1 No such user',
                                                                message=451, greeting=disconnect,
                                                                mail=gmail.spam
                            stages: greeting, helo, starttls, auth, mail, rcpt, data, message, rset, quit
                            With --workers each worker holds its own copy of the rules.

What it keeps
  --capture LEVEL           count (counters only), envelope (default) or full (raw messages too)
  --max-records N           delivery records kept (default 1000; older ones are dropped and counted)
  --max-capture-bytes SIZE  with --capture full, message octets kept at most (default 64M)

Limits
  --max-message-size SIZE   largest message, advertised as SIZE, e.g. 10M (default 64M; 0 = none)
  --max-recipients N        recipients per message (default 1000)
  --max-connections N       simultaneous connections (default 1000)
  --idle-timeout DURATION   silence before 421, e.g. 30s (default 2m)
  --record-timeout DURATION longest a command line or message line may take to arrive, however it
                            trickles in (default: the idle timeout; 0 = none)
  --max-session-time DURATION
                            longest a session may last before 421 (default 0 = no cap)
  --max-connections-per-address N
                            simultaneous connections from one client address (default: nine tenths
                            of --max-connections; 0 = no limit)
  --max-invalid-commands N  errors (invalid or refused commands) before 421 (default 20)
  --soft-error-limit N      errors after which each error reply waits --error-delay (default 10)
  --error-delay DURATION    wait added to each error reply past --soft-error-limit (default 100ms)
  --max-rejected-recipients N
                            refused recipients kept per message record; the rest are counted (default 100)

Control API
  --api-port PORT           control API port: number, 0 or range (default 8025)
  --api-host ADDR           address of the control API (default 127.0.0.1)
  --token TOKEN             require "Authorization: Bearer TOKEN" (default: $MAILHOLE_API_TOKEN);
                            needed when --api-host is not a loopback address
  --api-allow-unauthenticated
                            serve the API beyond loopback without a token (a network that is yours alone)
  --max-waits N             GET /api/wait long-polls held at once; more get 429 (default 100, at most 256)
  --max-wait-timeout DURATION
                            longest a long-poll is held; longer ones are cut to it (default 5m)
  --no-api                  serve no control API

Running
  --config FILE             JSON file with startSink options (flags override it); the flags above are
                            mode, acceptRatio, seed, delay (ms, [min, max], "2s", "100-500" or by
                            stage), headerSwitches, lenient, auth (true, {"users": {…}} or {"users":
                            "users.txt"}, a file beside the config), requireAuth and faults (JSON
                            rules, or the short forms as strings)
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
  mailhole serve --mode random --accept-ratio 0.8 --seed 42 --delay 100-500
  mailhole serve --auth-users ./users.txt --require-auth --starttls
  mailhole serve --fault fail-next:451 --fault 'bounce-recipient:*@gone.test' --fault greylist
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
  'record-timeout': { type: 'string' },
  'max-session-time': { type: 'string' },
  'max-connections-per-address': { type: 'string' },
  'max-invalid-commands': { type: 'string' },
  'soft-error-limit': { type: 'string' },
  'error-delay': { type: 'string' },
  'max-rejected-recipients': { type: 'string' },
  mode: { type: 'string' },
  'accept-ratio': { type: 'string' },
  seed: { type: 'string' },
  delay: { type: 'string', multiple: true },
  'header-switches': { type: 'boolean' },
  'no-header-switches': { type: 'boolean' },
  lenient: { type: 'boolean' },
  auth: { type: 'boolean' },
  'auth-users': { type: 'string' },
  'require-auth': { type: 'boolean' },
  fault: { type: 'string', multiple: true },
  'api-port': { type: 'string' },
  'api-host': { type: 'string' },
  token: { type: 'string' },
  'no-api': { type: 'boolean' },
  'max-waits': { type: 'string' },
  'api-allow-unauthenticated': { type: 'boolean' },
  'max-wait-timeout': { type: 'string' },
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

type ServeFlags = ReturnType<typeof parseCommand<typeof FLAGS>>;

/** The behaviour flags over what --config set; header switches default to on (see --help). */
async function behaviourFlags(flags: ServeFlags, options: StartOptions): Promise<void> {
  if (flags.mode !== undefined) options.mode = parseMode(flags.mode, '--mode');
  if (flags['accept-ratio'] !== undefined) options.acceptRatio = parseRatio(flags['accept-ratio'], '--accept-ratio');
  if (flags.seed !== undefined) options.seed = parseSeed(flags.seed, '--seed');
  if (flags.delay !== undefined) options.delay = parseDelays(flags.delay, '--delay');
  if (flags['header-switches'] && flags['no-header-switches']) {
    throw new UsageError('--header-switches and --no-header-switches contradict each other: give one');
  }
  if (flags['header-switches']) options.headerSwitches = true;
  if (flags['no-header-switches']) options.headerSwitches = false;
  options.headerSwitches ??= true;
  if (flags.lenient) options.lenient = true;
  if (flags.auth || flags['auth-users'] !== undefined || flags['require-auth']) {
    const current = typeof options.auth === 'object' && options.auth !== null ? (options.auth as AuthOptions) : {};
    options.auth =
      flags['auth-users'] !== undefined
        ? { ...current, users: await readUsersFile(flags['auth-users'], '--auth-users') }
        : typeof options.auth === 'object' && options.auth !== null
          ? options.auth
          : true;
  }
  if (flags['require-auth']) options.requireAuth = true;
  if (flags.fault !== undefined) {
    const names = new Set((options.faults ?? []).map((r) => r?.name).filter((n): n is string => typeof n === 'string'));
    const rules = flags.fault.map((text) => parseFault(text, `--fault ${JSON.stringify(text)}`, names));
    options.faults = [...(options.faults ?? []), ...rules];
  }
}

/**
 * --config may write what the flags write: `"delay": "100-500"` or `{ "greeting": "5s" }`,
 * `"faults": ["fail-next"]`, and `"auth": { "users": "users.txt" }` (a users file, relative to the
 * config file, so the passwords stay out of it).
 */
async function configBehaviour(options: StartOptions, path: string): Promise<void> {
  const where = `--config ${path}:`;
  if (typeof options.delay === 'string') options.delay = parseDelays([options.delay], `${where} "delay"`);
  else if (typeof options.delay === 'object' && options.delay !== null && !Array.isArray(options.delay)) {
    const byStage: Record<string, unknown> = { ...options.delay };
    for (const [stage, value] of Object.entries(byStage)) {
      if (typeof value === 'string') byStage[stage] = parseDelayRange(value, `${where} "delay.${stage}"`);
    }
    options.delay = byStage as StartOptions['delay'];
  }
  if (Array.isArray(options.faults)) {
    const names = new Set(
      options.faults.map((r) => (r as FaultRule | undefined)?.name).filter((n): n is string => typeof n === 'string'),
    );
    options.faults = options.faults.map((rule, i) =>
      typeof rule === 'string' ? parseFault(rule, `${where} "faults[${i}]" ${JSON.stringify(rule)}`, names) : rule,
    );
  }
  const auth = options.auth as AuthOptions | undefined;
  if (typeof auth === 'object' && auth !== null && typeof (auth.users as unknown) === 'string') {
    const file = resolve(dirname(path), auth.users as unknown as string);
    options.auth = { ...auth, users: await readUsersFile(file, `${where} "auth.users"`) };
  }
}

/** One line on what the sink answers beyond accepting everything, for the start banner. */
function describeBehaviour(info: Omit<SinkInfo, 'apiUrl'>, options: StartOptions): string {
  const o = info.options;
  const parts = [o.mode === 'random' ? `mode random (accept ratio ${o.acceptRatio})` : `mode ${o.mode}`];
  if (options.delay !== undefined) parts.push(`delay ${JSON.stringify(options.delay)}`);
  parts.push(`header switches ${o.headerSwitches ? 'on' : 'off'}`);
  if (o.auth !== 'none') {
    const users =
      typeof options.auth === 'object' && options.auth !== null ? (options.auth as AuthOptions).users : undefined;
    const who = users === undefined ? 'any user' : `${Object.keys(users).length} user(s)`;
    parts.push(`AUTH ${o.auth} (${who})`);
  }
  if (o.lenient) parts.push('lenient');
  const faults = (options.faults?.length ?? 0) + (options.rejections?.length ?? 0);
  if (faults > 0) parts.push(`${faults} fault rule(s)`);
  return parts.join(', ');
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
