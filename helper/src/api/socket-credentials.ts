import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Koffi from 'koffi';

/** Set to `true` by scripts/build.ts in the bundle; absent when hearthd runs from source (tsx, vitest). */
declare const HEARTHD_BUNDLED: boolean | undefined;
/** The koffi version the bundle was built against (scripts/build.ts); the module beside it must match. */
declare const HEARTHD_KOFFI_VERSION: string | undefined;

/** The file name of koffi's native module next to the bundle (dist/helper/, /usr/lib/hearth/). */
export const KOFFI_FILE = 'koffi.node';

/**
 * koffi's Linux x86-64 glibc binary, inside the npm package that carries it (koffi's optional
 * dependency for this platform). Only this one ships: hearthd runs on glibc x86-64 only.
 */
export const KOFFI_PACKAGE = '@koromix/koffi-linux-x64';
export const KOFFI_BINARY = 'linux_x64/koffi.node';

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_PEERGROUPS = 59;
/** Linux ≥ 6.5: a pidfd of the connecting process, which no later process can reuse. */
const SO_PEERPIDFD = 77;
const ERANGE = 34;
const ENOPROTOOPT = 92;
/** struct ucred: pid_t pid, uid_t uid, gid_t gid. */
const UCRED_SIZE = 12;
/** NGROUPS_MAX: the kernel never records more groups than this. */
const MAX_GROUPS = 65536;

/** What the kernel recorded of the connecting process at connect(): its pid, euid, egid and groups. */
export interface PeerRecord {
  /** 0 when the peer is in a pid namespace this process cannot see. */
  pid: number;
  /** The effective uid at connect (the kernel keeps neither the real nor the saved one). */
  uid: number;
  /** The effective gid at connect. */
  gid: number;
  /** The supplementary groups at connect, as the kernel lists them. */
  groups: number[];
}

export class SockoptError extends Error {
  constructor(
    readonly option: string,
    readonly errno: number,
  ) {
    super(`getsockopt(${option}) failed with errno ${errno}`);
  }
}

/** The getsockopt(2) reads hearthd identifies API callers with. Each throws SockoptError on failure. */
export interface SocketCredentials {
  peer(fd: number): PeerRecord;
  /** A pidfd the caller must close, or undefined where the kernel has no SO_PEERPIDFD. */
  peerPidfd(fd: number): number | undefined;
}

function candidate(): { path: string; bundle: string | undefined; version: string } {
  const here = fileURLToPath(import.meta.url);
  // The bundle loads only the copy installed beside it: never a lookup through node_modules or
  // any other path a user could write.
  if (typeof HEARTHD_BUNDLED === 'boolean')
    return { path: join(dirname(here), KOFFI_FILE), bundle: here, version: HEARTHD_KOFFI_VERSION ?? '' };
  return { path: koffiBinary(), bundle: undefined, version: koffiVersion() };
}

/** Where the checkout's koffi binary is (from source, and for scripts/build.ts to copy). */
export function koffiBinary(): string {
  return join(dirname(binaryPackage().resolve(`${KOFFI_PACKAGE}/package.json`)), KOFFI_BINARY);
}

/** The koffi version installed in the checkout: its binary package is released in step with it. */
export function koffiVersion(): string {
  return (binaryPackage()(`${KOFFI_PACKAGE}/package.json`) as { version: string }).version;
}

/** The binary package is koffi's dependency, not ours: resolved from koffi, as koffi would. */
const binaryPackage = () => createRequire(createRequire(import.meta.url).resolve('koffi'));

/** dlopen runs the file's code as hearthd: it must be no easier to replace than the bundle itself. */
function assertAsTrustedAs(path: string, bundle: string): void {
  const module = statSync(path);
  const owner = statSync(bundle).uid;
  if (!module.isFile()) throw new Error('not a regular file');
  if ((module.mode & 0o022) !== 0)
    throw new Error(`writable by group or others (mode ${(module.mode & 0o777).toString(8)})`);
  if (module.uid !== owner) throw new Error(`owned by uid ${module.uid}, not by the owner of ${bundle} (${owner})`);
}

/**
 * koffi's native module, loaded directly rather than through its JavaScript entry: that entry
 * searches several directories relative to itself (and Electron's resources) for a binary, and
 * hearthd must load one file it has checked, from one place.
 */
function loadKoffi(): typeof Koffi {
  const { path, bundle, version } = candidate();
  try {
    if (bundle !== undefined) assertAsTrustedAs(path, bundle);
    const module = { exports: {} as Partial<typeof Koffi> };
    process.dlopen(module, path, constants.dlopen.RTLD_NOW);
    if (module.exports.version !== version)
      throw new Error(`it is koffi ${String(module.exports.version)}, not ${version}`);
    return module.exports;
  } catch (error) {
    throw new Error(
      `cannot load the native module hearthd learns API callers' identity with (${path}: ${(error as Error).message}); ` +
        'install hearthd again (the app: "Install helper"), or from a checkout: npm ci && npm run build',
    );
  }
}

export function loadSocketCredentials(): SocketCredentials {
  const koffi = loadKoffi();
  // getsockopt is already in the process (Node links libc): look it up there, not by a library path.
  const getsockopt = koffi
    .load(null)
    .func('int getsockopt(int fd, int level, int name, _Out_ void *value, _Inout_ uint32_t *length)');

  /** One call; returns the bytes the kernel wrote, or the errno it failed with. */
  const read = (fd: number, name: number, size: number): Buffer | number => {
    const value = Buffer.alloc(size);
    const length = [size];
    if ((getsockopt(fd, SOL_SOCKET, name, value, length) as number) !== 0) return koffi.errno();
    // On ERANGE the kernel has written the size it needs; otherwise what it filled.
    return value.subarray(0, Math.min(length[0]!, size));
  };

  const groups = (fd: number): number[] => {
    let size = 64 * 4;
    for (;;) {
      const value = read(fd, SO_PEERGROUPS, size);
      if (typeof value !== 'number') {
        if (value.length % 4 !== 0) throw new SockoptError('SO_PEERGROUPS', 0);
        return Array.from({ length: value.length / 4 }, (_, i) => value.readUInt32LE(i * 4));
      }
      // ERANGE: the kernel says how much it needs; ask once more with that (bounded) size.
      if (value !== ERANGE || size >= MAX_GROUPS * 4) throw new SockoptError('SO_PEERGROUPS', value);
      size = MAX_GROUPS * 4;
    }
  };

  return {
    peer(fd) {
      const ucred = read(fd, SO_PEERCRED, UCRED_SIZE);
      if (typeof ucred === 'number') throw new SockoptError('SO_PEERCRED', ucred);
      if (ucred.length !== UCRED_SIZE) throw new SockoptError('SO_PEERCRED', 0);
      return { pid: ucred.readInt32LE(0), uid: ucred.readUInt32LE(4), gid: ucred.readUInt32LE(8), groups: groups(fd) };
    },
    peerPidfd(fd) {
      const value = read(fd, SO_PEERPIDFD, 4);
      if (value === ENOPROTOOPT) return undefined;
      if (typeof value === 'number') throw new SockoptError('SO_PEERPIDFD', value);
      if (value.length !== 4) throw new SockoptError('SO_PEERPIDFD', 0);
      return value.readInt32LE(0);
    },
  };
}
