import { readFile } from 'node:fs/promises';

/**
 * Who is asking, as the kernel told the API layer. `uid` is null when it could not tell; such a
 * caller may look at nothing and change nothing.
 */
export interface Caller {
  uid: number | null;
  /** Root, or a member of the admin group: may change settings, classes and images. */
  admin: boolean;
}

export const ADMIN_GROUP = 'hearth-admin';

/**
 * Root may act on every environment; everyone else (admins included) only on their own.
 * Admins administer the machine (settings, classes, images), not other people's work.
 */
export function mayAct(caller: Caller, owner: number | null): boolean {
  if (caller.uid === null) return false;
  return caller.uid === 0 || caller.uid === owner;
}

/** Is `uid` root or in the admin group (by /etc/group membership or as its primary group)? */
export async function isAdminUid(uid: number, etc = '/etc'): Promise<boolean> {
  if (uid === 0) return true;
  const [passwd, group] = await Promise.all([
    readFile(`${etc}/passwd`, 'utf8').catch(() => ''),
    readFile(`${etc}/group`, 'utf8').catch(() => ''),
  ]);
  const user = passwd
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[2] === String(uid));
  const admins = group
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === ADMIN_GROUP);
  if (!user || !admins) return false;
  return admins[2] === user[3] || (admins[3] ?? '').split(',').includes(user[0]!);
}
