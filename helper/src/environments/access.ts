import { readFile } from 'node:fs/promises';
import type { Caller } from '../caller.js';

export const ADMIN_GROUP = 'hearth-admin';

/**
 * Root may act on every environment; everyone else (admins included) only on their own.
 * Admins administer the machine (settings, classes, images), not other people's work.
 */
export function mayAct(caller: Caller, owner: number | null): boolean {
  if (caller.uid === null) return false;
  return caller.uid === 0 || caller.uid === owner;
}

/** Root, or a process in the admin group (its groups as the kernel reported them at connect). */
export async function isAdmin(uid: number, gids: readonly number[], etc = '/etc'): Promise<boolean> {
  if (uid === 0) return true;
  const group = await readFile(`${etc}/group`, 'utf8').catch(() => '');
  const admins = group
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === ADMIN_GROUP);
  // Only a plain decimal gid: Number('') and Number(' 0x0') are 0, which would make every
  // process in root's group an admin through a malformed line.
  const gid = admins?.[2];
  return gid !== undefined && /^\d+$/.test(gid) && gids.includes(Number(gid));
}
