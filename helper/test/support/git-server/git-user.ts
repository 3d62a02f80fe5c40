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

const SHELL = '/usr/bin/git-shell';

interface Entry extends GitUser {
  home: string;
  shell: string;
  /** The shadow password field: `*` is "no password", `!…` a locked account. */
  password: string;
}

async function lookup(): Promise<Entry | undefined> {
  const entry = await execa('getent', ['passwd', GIT_USER], { reject: false });
  if (entry.exitCode !== 0) return undefined;
  const [, , uid, gid, , home = '', shell = ''] = entry.stdout.trim().split(':');
  const shadow = await execa('getent', ['shadow', GIT_USER], { reject: false });
  const password = shadow.stdout.trim().split(':')[1] ?? '';
  return { name: GIT_USER, uid: Number(uid), gid: Number(gid), home, shell, password };
}

/**
 * Makes the user if it is missing and corrects its home, shell and password field if they differ
 * (once per machine; the user is kept afterwards). Safe to race: each step is checked again after
 * a write that may have lost to another fixture's.
 */
export async function ensureGitUser(): Promise<GitUser> {
  await mkdir(GIT_USER_HOME, { recursive: true, mode: 0o755 });
  if (!(await lookup()))
    await execa(
      'useradd',
      ['--system', '--user-group', '--home-dir', GIT_USER_HOME, '--no-create-home', '--shell', SHELL, GIT_USER],
      { reject: false },
    );
  let user = await lookup();
  if (!user) throw new Error(`could not create the user ${GIT_USER}`);
  // useradd leaves the password "!" (locked), and sshd without PAM refuses a locked account even
  // for a key; "*" is "no password" without the lock.
  if (user.home !== GIT_USER_HOME || user.shell !== SHELL || user.password !== '*') {
    await execa('usermod', ['--home', GIT_USER_HOME, '--shell', SHELL, '--password', '*', GIT_USER], { reject: false });
    user = await lookup();
    if (user?.home !== GIT_USER_HOME || user.shell !== SHELL || user.password !== '*')
      throw new Error(`could not set ${GIT_USER}'s home, shell and password field: ${JSON.stringify(user)}`);
  }
  return { name: user.name, uid: user.uid, gid: user.gid };
}
