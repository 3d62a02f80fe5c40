import type { RepositoryLocation } from '#protocol';
import { parsePublicKeyLine } from '../store/ssh-key.js';
import type { GitUser } from './git-user.js';
import { runAsGitUser } from './run-as-git-user.js';

const PREFERENCE = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'];

/**
 * The host key `location`'s SSH server offers, found by ssh-keyscan run as the git user: the one
 * to show the owner for confirmation. Prefers ed25519 (what ssh negotiates first); skips keys
 * already pinned (after "changed", the new one is what matters).
 */
export async function scanHostKey(
  user: GitUser | undefined,
  keyscan: string,
  location: RepositoryLocation,
  pinned: string[],
  cwd: string,
): Promise<{ publicKey: string; fingerprint: string } | null> {
  const host = location.host.replace(/^\[(.*)\]$/, '$1');
  const result = await runAsGitUser(
    user,
    keyscan,
    ['-T', '10', '-p', String(location.port ?? 22), '-t', 'ed25519,ecdsa,rsa', '--', host],
    { cwd, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, timeoutMs: 20_000 },
  );
  const offered = result.stdout
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => parsePublicKeyLine(line.split(' ').slice(1).join(' ')))
    .filter((key) => key !== undefined && !pinned.includes(key.publicKey));
  offered.sort((a, b) => PREFERENCE.indexOf(a!.type) - PREFERENCE.indexOf(b!.type));
  const best = offered[0];
  return best ? { publicKey: best.publicKey, fingerprint: best.fingerprint } : null;
}
