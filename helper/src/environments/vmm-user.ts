import { readFile } from 'node:fs/promises';

export interface VmmUser {
  name: string;
  uid: number;
  gid: number;
}

/** Looks a user up in /etc/passwd (no NSS: system users are local). */
export async function lookupUser(name: string): Promise<VmmUser | undefined> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}
