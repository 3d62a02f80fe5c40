import { chmod, chown, lstat, readFile, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { isMissing } from '../system/host-root.js';

export class SocketInUseError extends Error {
  constructor(readonly socketPath: string) {
    super(
      `another hearthd is already serving ${socketPath}; stop it first (sudo systemctl stop hearthd) or choose another --socket`,
    );
  }
}

/** True when something accepts connections on the socket. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (alive: boolean) => {
      socket.destroy();
      resolve(alive);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(2_000, () => done(true));
  });
}

/**
 * Makes `path` free for listening: refuses when a live server answers there, removes a stale
 * socket left by a crash, and never removes anything that is not a socket.
 */
export async function claimSocketPath(path: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if (isMissing(error)) return;
    throw error;
  }
  if (!stats.isSocket()) {
    throw new Error(
      `${path} exists and is not a socket; hearthd will not replace it. Move it away or choose another --socket`,
    );
  }
  if (await answers(path)) throw new SocketInUseError(path);
  await unlink(path);
}

async function groupId(name: string): Promise<number | undefined> {
  const groups = await readFile('/etc/group', 'utf8').catch(() => '');
  const line = groups.split('\n').find((l) => l.startsWith(`${name}:`));
  const gid = line?.split(':')[2];
  return gid === undefined ? undefined : Number(gid);
}

/** Mode 0660, and group `hearth` when that group exists and we may assign it. */
export async function secureSocket(path: string, group: string): Promise<{ mode: number; group?: string }> {
  await chmod(path, 0o660);
  const gid = await groupId(group);
  if (gid !== undefined && process.getuid?.() === 0) {
    await chown(path, -1, gid);
    return { mode: 0o660, group };
  }
  return { mode: 0o660 };
}
