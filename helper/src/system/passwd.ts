import { readFile } from 'node:fs/promises';

export interface VmmUser {
  name: string;
  uid: number;
  gid: number;
}

/**
 * Looks a user up in /etc/passwd and /etc/group (no NSS: system users are local).
 *
 * Node drops supplementary groups when it starts a process as another user, so a VMM user that
 * reaches /dev/kvm through the `kvm` group (as the installer's hearth-vmm does) is given `kvm` as
 * its group instead of its primary one.
 */
export async function lookupUser(name: string): Promise<VmmUser | undefined> {
  const [passwd, group] = await Promise.all([
    readFile('/etc/passwd', 'utf8').catch(() => ''),
    readFile('/etc/group', 'utf8').catch(() => ''),
  ]);
  return parseUser(name, passwd, group);
}

export function parseUser(name: string, passwd: string, group: string): VmmUser | undefined {
  let user: VmmUser | undefined;
  for (const line of passwd.split('\n')) {
    const [login, , uid, gid] = line.split(':');
    if (login === name && uid !== undefined && gid !== undefined) user = { name, uid: Number(uid), gid: Number(gid) };
  }
  if (!user) return undefined;
  for (const line of group.split('\n')) {
    const [groupName, , gid, members] = line.split(':');
    if (groupName === 'kvm' && gid !== undefined && (members ?? '').split(',').includes(name))
      return { ...user, gid: Number(gid) };
  }
  return user;
}
