import { mkdir } from 'node:fs/promises';
import { execa } from 'execa';

/** The system user that owns the repositories and that SSH logs in as (key only, git-shell). */
export const GIT_USER = 'hearth-test-gitsrv';
/**
 * Its home and the parent of every fixture directory by default: root-owned, 0755, on a path with
 * no world-writable directory above it (not /tmp), because sshd's StrictModes checks every
 * directory above an AuthorizedKeysFile outside the home.
 */
export const GIT_USER_HOME = '/var/lib/hearth-test-gitsrv';

export interface GitUser {
  name: string;
  uid: number;
  gid: number;
}

async function lookup(): Promise<GitUser | undefined> {
  const entry = await execa('getent', ['passwd', GIT_USER], { reject: false });
  if (entry.exitCode !== 0) return undefined;
  const [, , uid, gid] = entry.stdout.trim().split(':');
  return { name: GIT_USER, uid: Number(uid), gid: Number(gid) };
}

/**
 * Makes the user if it is missing (once per machine; kept afterwards, as the brief of the fixture
 * says). Safe to race: a second useradd that loses finds the user made by the first.
 */
export async function ensureGitUser(): Promise<GitUser> {
  await mkdir(GIT_USER_HOME, { recursive: true, mode: 0o755 });
  let user = await lookup();
  if (!user) {
    await execa(
      'useradd',
      [
        '--system',
        '--user-group',
        '--home-dir',
        GIT_USER_HOME,
        '--no-create-home',
        '--shell',
        '/usr/bin/git-shell',
        GIT_USER,
      ],
      { reject: false },
    );
    user = await lookup();
    if (!user) throw new Error(`could not create the user ${GIT_USER}`);
  }
  // useradd leaves the password "!" (locked), and sshd without PAM refuses a locked account even
  // for a key; "*" is "no password" without the lock.
  await execa('usermod', ['--password', '*', GIT_USER]);
  return user;
}
