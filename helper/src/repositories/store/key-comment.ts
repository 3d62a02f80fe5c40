import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';

/** `hearth <user>@<machine> <host>`: says on the Git host's key list where the key lives and what for. */
export async function keyComment(uid: number, host: string): Promise<string> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const login = passwd
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[2] === String(uid))?.[0];
  // Only ordinary characters: the comment travels in a one-line key.
  const clean = (text: string) => text.replace(/[^A-Za-z0-9._@+-]/g, '') || 'unknown';
  // The host as credentials key it (host[:port], IPv6 in brackets): GitHost's own characters.
  const cleanHost = host.replace(/[^a-z0-9.:[\]-]/g, '') || 'unknown';
  return `hearth ${clean(login ?? `uid${uid}`)}@${clean(hostname())} ${cleanHost}`;
}
