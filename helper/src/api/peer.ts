import { readFile, readlink } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { execa } from 'execa';

/**
 * The uid of the process at the other end of an API connection. Node has no SO_PEERCRED, so this
 * asks the kernel through `ss` (sock_diag): our socket's inode → its peer's inode → the process
 * holding the peer → /proc/<pid>/status. Undefined when any step fails (the caller exited, `ss`
 * is missing, another namespace): the owner is then unknown, never guessed.
 */
export async function peerUid(ss: string | undefined, socket: Socket): Promise<number | undefined> {
  try {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (ss === undefined || fd === undefined || fd < 0) return undefined;
    const link = await readlink(`/proc/self/fd/${fd}`);
    const ours = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    if (!ours) return undefined;
    const { stdout } = await execa(ss, ['-xpnH'], { timeout: 2_000, stdin: 'ignore', env: { LC_ALL: 'C' } });
    // Netid State Recv-Q Send-Q Local-Address Inode Peer-Address PeerInode [users:(("name",pid=N,fd=M))]
    const rows = stdout.split('\n').map((line) => line.trim().split(/\s+/));
    const peer = rows.find((r) => r[5] === ours)?.[7];
    const holder = rows
      .find((r) => r[5] === peer)
      ?.slice(8)
      .join(' ');
    const pid = holder ? /pid=(\d+)/.exec(holder)?.[1] : undefined;
    if (!pid) return undefined;
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    return uid === undefined ? undefined : Number(uid);
  } catch {
    return undefined;
  }
}
