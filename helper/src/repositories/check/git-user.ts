import { lookupUser } from '../../system/passwd.js';

/** The unprivileged user hearthd runs git and ssh as for access checks (`--git-user`, default hearth-git). */
export interface GitUser {
  name: string;
  uid: number;
  gid: number;
}

export const DEFAULT_GIT_USER = 'hearth-git';

/**
 * `undefined` when hearthd is not root (it runs git as itself: it cannot switch, and has nothing to
 * protect); otherwise the named user, or hearth-git. Root without such a user runs no check at all
 * (`null`): git and ssh parse what a remote host sends, and that never happens as root.
 */
export async function resolveGitUser(name: string | undefined): Promise<GitUser | undefined | null> {
  const wanted = name ?? DEFAULT_GIT_USER;
  const user = await lookupUser(wanted);
  if (name !== undefined && !user) throw new Error(`--git-user ${name}: no such user; create it or choose another`);
  if (process.getuid?.() !== 0) return undefined;
  if (!user) return null;
  if (user.uid === 0) throw new Error(`--git-user ${wanted}: must not be root`);
  // lookupUser swaps in the kvm group for a member of it (a VMM user's need); git's user has no use for it.
  return user;
}
