import { closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { PeerIdentity } from '../caller.js';
import type { Sockopt } from './sockopt.js';

const SOL_SOCKET = 1;
/** With an int-sized buffer the kernel copies only the first field of struct ucred: the pid. */
const SO_PEERCRED = 17;
/** Linux ≥ 6.5: a pidfd of the connecting process, which no later process can reuse. */
const SO_PEERPIDFD = 77;
const ENOPROTOOPT = 92;

const ID = /^\d{1,10}$/;

/** Kernels found without SO_PEERPIDFD are not asked again: each failed call leaks a buffer in the addon. */
const withoutPidfd = new WeakSet<Sockopt>();

function ids(status: string, key: string): number[] | undefined {
  const lines = status.split('\n').filter((line) => line.startsWith(`${key}:`));
  // The kernel writes each line once; anything else is not a status file we understand.
  if (lines.length !== 1) return undefined;
  const words = lines[0]!
    .slice(key.length + 1)
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  if (!words.every((w) => ID.test(w))) return undefined;
  const values = words.map(Number);
  return values.every((v) => v < 0xffffffff) ? values : undefined;
}

/**
 * The caller from /proc/<pid>/status. The uid counts only when real, effective, saved and
 * filesystem uid agree: a setuid program running for someone else (euid 0, ruid 1000) is nobody
 * we can name, so it is unknown rather than either of them. A setgid program's borrowed gid is
 * left out the same way; its supplementary groups (which exec never changes) stay.
 */
export function parseProcStatus(status: string): PeerIdentity | undefined {
  const uids = ids(status, 'Uid');
  const gids = ids(status, 'Gid');
  const groups = ids(status, 'Groups');
  if (uids?.length !== 4 || gids?.length !== 4 || groups === undefined) return undefined;
  const uid = uids[0]!;
  if (uids.some((u) => u !== uid)) return undefined;
  const primary = gids.every((g) => g === gids[0]) ? [gids[0]!] : [];
  return { uid, gids: [...new Set([...primary, ...groups])].sort((a, b) => a - b) };
}

function errnoOf(error: unknown): number | undefined {
  const match = /\((\d+)\)\s*$/.exec(error instanceof Error ? error.message : '');
  return match ? Number(match[1]) : undefined;
}

function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Identifies the peer of a freshly accepted connection: call it at accept time. The kernel fixed
 * the peer's pid at connect(), so whoever later holds the connection (an fd passed with
 * SCM_RIGHTS, a program exec'd over it) does not change the answer: it is the connecting
 * process, as it is when we look. Undefined whenever that is not certain: a pid from another pid
 * namespace (0), a process already gone, a status that does not parse.
 */
export function identifyPeer(sockopt: Sockopt, socket: Socket, proc = '/proc'): Promise<PeerIdentity | undefined> {
  const fd = socketFd(socket);
  if (fd === undefined) return Promise.resolve(undefined);
  let pid: number;
  let pidfd: number | undefined;
  try {
    pid = sockopt.getsockopt(fd, SOL_SOCKET, SO_PEERCRED);
    if (!Number.isInteger(pid) || pid <= 0) return Promise.resolve(undefined);
  } catch {
    return Promise.resolve(undefined);
  }
  try {
    if (!withoutPidfd.has(sockopt)) pidfd = sockopt.getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD);
  } catch (error) {
    // An older kernel: the pid alone, read at once, is the best there is. Any other error
    // (ESRCH, EINVAL: the connecting process has exited) means the pid may be someone else's now.
    if (errnoOf(error) !== ENOPROTOOPT) return Promise.resolve(undefined);
    withoutPidfd.add(sockopt);
  }
  return resolvePid(pid, pidfd, proc);
}

async function resolvePid(pid: number, pidfd: number | undefined, proc: string): Promise<PeerIdentity | undefined> {
  try {
    const caller = parseProcStatus(await readFile(`${proc}/${pid}/status`, 'utf8'));
    if (pidfd === undefined) return caller;
    // The pidfd still names `pid` after the read: the process was never reaped meanwhile, so
    // the pid was not reused and the status read was the connecting process's.
    const info = await readFile(`${proc}/self/fdinfo/${pidfd}`, 'utf8');
    return /^Pid:\s+(-?\d+)$/m.exec(info)?.[1] === String(pid) ? caller : undefined;
  } catch {
    return undefined;
  } finally {
    try {
      if (pidfd !== undefined) closeSync(pidfd);
    } catch {
      // Nothing to undo: the number is ours until closed, and close(2) releases it even on error.
    }
  }
}
