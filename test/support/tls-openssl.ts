import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireTool, run } from './child.js';

/** A certificate chain a user brings: made outside mailhole, by their own CA. */
export interface OwnCertificate {
  key: string;
  cert: string;
  ca: string;
}

/**
 * Makes a CA and a server certificate for `hostnames` with the openssl command, as a user with a
 * PKI of their own would, in `dir`. Names that are IP literals become IP SANs.
 */
export async function opensslCertificate(dir: string, hostnames: readonly string[]): Promise<OwnCertificate> {
  requireTool('openssl', 'apt-get install openssl');
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=Own test CA (openssl)',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ]);
  await openssl([
    'req',
    '-new',
    ...ec,
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
    '-subj',
    `/CN=${hostnames[0]}`,
  ]);
  const sans = hostnames.map((name) => (/^[\d.]+$|:/.test(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
  await writeFile(
    file('server.ext'),
    `subjectAltName=${sans}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n`,
  );
  await openssl([
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-set_serial',
    '0x6d61696c686f6c65',
    '-days',
    '2',
    '-extfile',
    file('server.ext'),
    '-out',
    file('server.pem'),
  ]);
  const [key, cert, ca] = await Promise.all(
    ['server.key', 'server.pem', 'ca.pem'].map((name) => readFile(file(name), 'utf8')),
  );
  return { key: key as string, cert: cert as string, ca: ca as string };
}

async function openssl(args: string[]): Promise<void> {
  const result = await run('openssl', args);
  if (result.code !== 0) throw new Error(`openssl ${args.join(' ')} failed (exit ${result.code}):\n${result.stderr}`);
}
