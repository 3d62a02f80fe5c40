import { chmod, chown, lstat, mkdir, readdir, rename, rmdir, unlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { isMissing } from '../../system/host-root.js';
import { GUEST_CHANNEL_VSOCK_PORT, VmmError, type VmSpec } from '../driver.js';

/**
 * Cloud Hypervisor's hybrid vsock (docs/vsock.md): the guest's virtio-vsock device is backed by a
 * Unix socket CH binds itself, by path, as the VMM user (`vsock.socket`); a guest connection to
 * the host (CID 2) port P is forwarded by CH connecting to `<socket>_P`, which hearthd listens on.
 *
 * Where those sockets live is the question. CH must create an entry (its `<socket>`), so the
 * directory must be writable by the VMM user; root's runtime directory (`<run>/vms/<id>/`, 0700)
 * is not, and must stay so. A directory of the VMM user's own would let it swap hearthd's
 * listener, or anything else root later touched there, for a link. So each VM gets
 *
 *   `<run>/vsock/`       root 0711: only root adds entries; the VMM user may pass through;
 *   `<run>/vsock/<id>/`  root, group = the VMM user's group, mode 1730 (sticky): the VMM user can
 *                        create (CH's `<socket>`) and connect, but not list, and — sticky, root's
 *                        directory — never unlink or rename an entry it does not own, so
 *                        hearthd's listener `<socket>_<port>` (root's) cannot be replaced.
 *
 * Root never connects to, reads or follows anything in it: it binds its listener (and chmods its
 * own fresh entry), and at cleanup only unlinks (never follows) or moves aside. It is never
 * removed recursively (`rm -r` over a directory another user can write races symlink swaps).
 * It is outside `stateDir` for the same reason: deleting an environment removes that tree
 * recursively.
 */

/** CH's `vsock.socket` for the VM (the guest's connections arrive on `<this>_<port>`). */
export const VSOCK_SOCKET = 'vsock.sock';
/** The guest's CID. Hybrid vsock is CH's own userspace device, so CIDs need not differ across VMs. */
export const GUEST_CID = 3;
/** sockaddr_un's sun_path holds 108 bytes, the terminating NUL included. */
const MAX_SOCKET_PATH = 107;

/** `<run>/vsock/<id>/`; `spec.runtimeDir` is `<run>/vms/<id>` (environments/layout.ts). */
export function vsockDirOf(spec: Pick<VmSpec, 'id' | 'runtimeDir'>): string {
  const vms = dirname(spec.runtimeDir);
  if (basename(vms) !== 'vms' || basename(spec.runtimeDir) !== spec.id)
    throw new VmmError(`unexpected runtime directory ${spec.runtimeDir}: expected <run>/vms/${spec.id}`);
  return join(dirname(vms), 'vsock', spec.id);
}

export function vsockSocketOf(spec: Pick<VmSpec, 'id' | 'runtimeDir'>): string {
  return join(vsockDirOf(spec), VSOCK_SOCKET);
}

/** Where hearthd listens for the guest agent (what `guestChannelEndpoint` returns). */
export function guestListenPath(spec: Pick<VmSpec, 'id' | 'runtimeDir'>): string {
  const path = `${vsockSocketOf(spec)}_${GUEST_CHANNEL_VSOCK_PORT}`;
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH)
    throw new VmmError(`the vsock socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes`);
  return path;
}

export interface VsockDirResult {
  dir: string;
  /** Entries nobody but the VMM user could have made, moved aside (a VMM user up to something). */
  movedAside: string[];
}

/**
 * Makes `<run>/vsock/<id>/` empty and ready before a launch: a previous VMM's socket (CH removes
 * it when its device shuts down, a killed CH leaves it) would make CH's bind fail.
 */
export async function prepareVsockDir(spec: VmSpec): Promise<VsockDirResult> {
  const dir = vsockDirOf(spec);
  const parent = dirname(dir);
  await ensureRootDir(parent, 0o711);
  const movedAside = await emptyOrSetAside(dir);
  await mkdir(dir, { mode: 0o700 });
  // Group: the VMM user's; owner root: the VMM user cannot chmod it or unlink root's entries.
  if (spec.gid !== undefined) await chown(dir, process.getuid?.() ?? 0, spec.gid);
  await chmod(dir, spec.gid !== undefined ? 0o1730 : 0o700);
  return { dir, movedAside };
}

/** After the VM is gone: removes the sockets and the directory, never following anything. */
export async function releaseVsockDir(spec: Pick<VmSpec, 'id' | 'runtimeDir'>): Promise<VsockDirResult> {
  const dir = vsockDirOf(spec);
  return { dir, movedAside: await emptyOrSetAside(dir) };
}

/**
 * hearthd's listener for the guest agent at `path` (in the VM's vsock directory, after launch or
 * attach: launch empties the directory). Any old entry there is unlinked first (a listener of an
 * earlier hearthd, gone with it). The socket is made connectable by everyone, on purpose: the
 * directory (search only for root and the VMM group) decides who can reach it, and a fresh entry
 * of root's in a sticky root directory cannot be swapped before the chmod.
 */
export async function listenForGuest(path: string): Promise<Server> {
  await unlink(path).catch((error: unknown) => {
    if (!isMissing(error)) throw error;
  });
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path, writableAll: true, readableAll: false }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const stats = await lstat(path);
  if (!stats.isSocket() || stats.uid !== (process.getuid?.() ?? 0)) {
    server.close();
    throw new VmmError(`${path} is not hearthd's socket after binding it`);
  }
  return server;
}

async function ensureRootDir(path: string, mode: number): Promise<void> {
  try {
    await mkdir(path, { mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const stats = await lstat(path);
  if (!stats.isDirectory() || stats.uid !== (process.getuid?.() ?? 0))
    throw new VmmError(`${path} is not a directory of hearthd's own`);
  await chmod(path, mode);
}

/**
 * Unlinks every non-directory entry of `dir` and removes it. A directory inside can only be the
 * VMM user's (CH makes none), and root does not descend into it: the whole of `dir` is then moved
 * aside in its root-only parent, left for a reboot (it is on /run) or an administrator.
 */
async function emptyOrSetAside(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
  const odd: string[] = [];
  for (const name of names) {
    const entry = join(dir, name);
    try {
      await unlink(entry);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code !== 'EISDIR' && code !== 'EPERM') throw error;
      if (
        !(await rmdir(entry).then(
          () => true,
          () => false,
        ))
      )
        odd.push(entry);
    }
  }
  if (odd.length === 0) {
    await rmdir(dir).catch((error: unknown) => {
      if (!isMissing(error)) throw error;
    });
    return [];
  }
  await rename(dir, join(dirname(dir), `.stale-${basename(dir)}-${Date.now()}`));
  return odd;
}
