/**
 * How a listening address is written in URLs and messages, once for the sink, its control API and
 * the CLI: an IPv6 address goes in brackets (RFC 3986 §3.2.2), `[::1]:2525`.
 */

/** `host:port`, with an IPv6 host in brackets. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** `scheme://host:port`, e.g. `smtp://127.0.0.1:2525`, `smtps://[::1]:4650`, `http://127.0.0.1:8025`. */
export function listenerUrl(scheme: 'smtp' | 'lmtp' | 'smtps' | 'http', host: string, port: number): string {
  return `${scheme}://${hostPort(host, port)}`;
}
