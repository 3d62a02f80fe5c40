/**
 * The test guest's cache, <repo>/.cache/test-guest/<key>/: the key that names an entry, reading a
 * published entry back, publishing a finished one by rename, and pruning what no build needs.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Packages } from './debian-packages.js';

/** Every file in this directory shapes the guest (build code, init.sh), so the key hashes them all. */
const BUILD_FILES_DIR = import.meta.dirname;
export const CACHE_ROOT = resolve(BUILD_FILES_DIR, '..', '..', '.cache', 'test-guest');
const MANIFEST = 'manifest.json';

/** What a cache entry holds; file names are relative to the entry's directory. */
export interface Manifest {
  key: string;
  kernelPackage: string;
  kernelPackageVersion: string;
  busyboxVersion: string;
  kernelVersion: string;
  kernel: string;
  initrd: string;
  baseDisk: string;
  readyMarker: string;
  cmdline: string;
  /** Modules /init loads, in order. */
  modules: string[];
  /** Wanted modules (or their dependencies) that are built into this kernel. */
  builtinModules: string[];
}

/** A built guest: the manifest with absolute paths. */
export type BuiltTestGuest = Manifest & { dir: string };

/**
 * The kernel package version plus a hash of everything else that shapes the guest: the files of
 * this directory (whatever they are named, so a new build module is covered without a list to
 * keep) and busybox's version.
 */
export async function cacheKey(packages: Packages): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`${packages.kernelPackage}\0${packages.busyboxVersion}\0`);
  for (const name of (await readdir(BUILD_FILES_DIR)).sort()) {
    hash.update(`${name}\0`).update(await readFile(join(BUILD_FILES_DIR, name)));
  }
  const version = packages.kernelPackageVersion.replace(/[^A-Za-z0-9.+-]/g, '_');
  return `${version}-${hash.digest('hex').slice(0, 16)}`;
}

/** Written last into an entry being built: its presence marks the entry's files complete. */
export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await writeFile(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

function withPaths(dir: string, manifest: Manifest): BuiltTestGuest {
  return {
    ...manifest,
    dir,
    kernel: join(dir, manifest.kernel),
    initrd: join(dir, manifest.initrd),
    baseDisk: join(dir, manifest.baseDisk),
  };
}

/** A published entry is complete (its directory appears only by rename), unless someone deleted files in it. */
export async function readEntry(dir: string): Promise<BuiltTestGuest | undefined> {
  try {
    const guest = withPaths(dir, JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest);
    await Promise.all([guest.kernel, guest.initrd, guest.baseDisk].map((file) => access(file, constants.R_OK)));
    return guest;
  } catch {
    return undefined;
  }
}

/** Whether a process exists (EPERM: it does, as another user). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes other keys' entries and the work directories of builds whose process is gone. */
export async function pruneCache(keep: string): Promise<void> {
  for (const name of await readdir(CACHE_ROOT)) {
    const builder = /^\.build-(\d+)-/.exec(name);
    if (name === keep || (builder && isRunning(Number(builder[1])))) continue;
    await rm(join(CACHE_ROOT, name), { recursive: true, force: true });
  }
}

/** Moves a finished entry into place. Losing a race to a concurrent build of the same key is fine. */
export async function publish(out: string, dir: string, replace: boolean): Promise<void> {
  if (replace) await rename(dir, `${out}.old`).catch(() => undefined);
  try {
    await rename(out, dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
  }
}
