import { X509Certificate } from 'node:crypto';

/**
 * The host name a client should verify `certPem` (the leaf first, as node:tls takes `cert`)
 * against: `localhost` when it covers that, as every generated certificate does, else its first
 * DNS name. A certificate naming only IP addresses still gets `localhost`: TLS sends no IP
 * literal as a server name, so such a client has to connect by IP and drop `servername`.
 */
export function serverNameFor(certPem: string): string {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch {
    return 'localhost';
  }
  if (leaf.checkHost('localhost') !== undefined) return 'localhost';
  const dnsName = (leaf.subjectAltName ?? '')
    .split(', ')
    .find((entry) => entry.startsWith('DNS:') && !entry.includes('*'));
  return dnsName === undefined ? 'localhost' : dnsName.slice(4);
}
