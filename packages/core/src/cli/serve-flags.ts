import { bounceCodes } from '../behaviour/replies.js';
import type { parseCommand } from './args.js';

// `mailhole serve`'s command line: its help text and its flags.

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

/** The flags `mailhole serve` takes. */
export const FLAGS = {
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

/** The flags as parsed. */
export type ServeFlags = ReturnType<typeof parseCommand<typeof FLAGS>>;
