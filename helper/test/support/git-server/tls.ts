import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';

export interface TestTls {
  /** The CA's certificate (PEM): what a client trusts (GIT_SSL_CAINFO, http.sslCAInfo). */
  caPem: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * A CA of the test's own and a server certificate it signs for `address` (an IP literal) and
 * `hostName`, both as subjectAltNames (clients match names against SANs only), with openssl. Keys
 * are P-256, valid for two days. The keys are root's alone (0600); the certificates are
 * world-readable, so a test may run its client as an unprivileged user with GIT_SSL_CAINFO.
 */
export async function makeTestTls(dir: string, address: string, hostName: string): Promise<TestTls> {
  if (isIP(address) === 0) throw new Error(`not an IP literal: ${address}`);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const file = (name: string): string => join(dir, name);
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await execa('openssl', [
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=Hearth test Git server CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await execa('openssl', [
    'req',
    ...newKey,
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
    '-subj',
    `/CN=${hostName}`,
  ]);
  await writeFile(
    file('server.ext'),
    [
      `subjectAltName=IP:${address},DNS:${hostName}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  await execa('openssl', [
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    file('server.ext'),
    '-out',
    file('server.pem'),
  ]);
  for (const key of ['ca.key', 'server.key']) await chmod(file(key), 0o600);
  for (const cert of ['ca.pem', 'server.pem']) await chmod(file(cert), 0o644);
  return {
    caPem: await readFile(file('ca.pem'), 'utf8'),
    caFile: file('ca.pem'),
    certFile: file('server.pem'),
    keyFile: file('server.key'),
  };
}
