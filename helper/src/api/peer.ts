import { closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { PeerIdentity } from '../caller.js';
import type { PeerRecord, SocketCredentials } from './socket-credentials.js';

const ID = /^\d{1,10}$/;

/** Kernels found without SO_PEERPIDFD are not asked again. */
const withoutPidfd = new WeakSet<SocketCredentials>();

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

/** Real, effective, saved and filesystem uid and gid from /proc/<pid>/status; undefined if it does not parse. */
export function parseProcStatus(status: string): { uids: number[]; gids: number[] } | undefined {
  const uids = ids(status, 'Uid');
  const gids = ids(status, 'Gid');
  if (uids?.length !== 4 || gids?.length !== 4) return undefined;
  return { uids, gids };
}

/**
 * The caller, from what the kernel recorded at connect() and the process's ids as read at accept.
 * The identity comes from the record alone (effective uid, groups): the status read may only
 * take it away. The kernel records the effective ids only, so whether real, effective and saved
 * ids agreed is judged from the status: a uid counts only when all four there equal the recorded
 * one. A setuid program running for someone else (euid 0, ruid 1000) is nobody we can name,
 * whether it connected itself or inherited the connection and was read after it switched. A
 * setgid program's borrowed gid is left out the same way; the recorded supplementary groups stay.
 */
export function judgeCaller(record: PeerRecord, status: string): PeerIdentity | undefined {
  const proc = parseProcStatus(status);
  if (proc === undefined || !valid(record.uid) || !valid(record.gid) || !record.groups.every(valid)) return undefined;
  if (proc.uids.some((u) => u !== record.uid)) return undefined;
  const primary = proc.gids.every((g) => g === record.gid) ? [record.gid] : [];
  return { uid: record.uid, gids: [...new Set([...primary, ...record.groups])].sort((a, b) => a - b) };
}

/** (uid_t)-1 is "no id"; an id the kernel could not map into our namespace is the overflow id, a real one. */
const valid = (id: number) => Number.isInteger(id) && id >= 0 && id < 0xffffffff;

function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Identifies the peer of a freshly accepted connection: call it at accept time. The kernel fixed
 * the peer's euid, egid and groups at connect(), so whoever later holds the connection (an fd
 * passed with SCM_RIGHTS, a program exec'd over it) does not change the answer. Undefined
 * whenever that is not certain: a pid from another pid namespace (0), a process already gone
 * (its ids cannot be checked), a status that does not parse or disagrees with the record.
 */
export function identifyPeer(
  credentials: SocketCredentials,
  socket: Socket,
  proc = '/proc',
): Promise<PeerIdentity | undefined> {
  const fd = socketFd(socket);
  if (fd === undefined) return Promise.resolve(undefined);
  let record: PeerRecord;
  let pidfd: number | undefined;
  try {
    record = credentials.peer(fd);
    if (!Number.isInteger(record.pid) || record.pid <= 0) return Promise.resolve(undefined);
  } catch {
    return Promise.resolve(undefined);
  }
  try {
    if (!withoutPidfd.has(credentials)) pidfd = credentials.peerPidfd(fd);
    if (pidfd === undefined) withoutPidfd.add(credentials);
  } catch {
    // ESRCH, EINVAL: the connecting process has exited, and its pid may be someone else's now.
    // Anything else is as unexpected: the caller stays unknown rather than half-checked.
    return Promise.resolve(undefined);
  }
  return judgeProcess(record, pidfd, proc);
}

async function judgeProcess(
  record: PeerRecord,
  pidfd: number | undefined,
  proc: string,
): Promise<PeerIdentity | undefined> {
  try {
    const caller = judgeCaller(record, await readFile(`${proc}/${record.pid}/status`, 'utf8'));
    // An older kernel (no SO_PEERPIDFD, Linux < 6.5): the pid alone, read at once, is the best there is.
    if (pidfd === undefined) return caller;
    // The pidfd still names the pid after the read: the process was never reaped meanwhile, so
    // the pid was not reused and the status read was the connecting process's.
    const info = await readFile(`${proc}/self/fdinfo/${pidfd}`, 'utf8');
    return /^Pid:\s+(-?\d+)$/m.exec(info)?.[1] === String(record.pid) ? caller : undefined;
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
