import { lstat, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import writeFileAtomic from 'write-file-atomic';
import { BuildError } from './tools.js';

/**
 * Finished builds, by recipe key, outside any clone or state directory:
 *
 *   <cache>/<key>/vmlinuz, initrd.img, disk.qcow2   the image's files
 *   <cache>/<key>/build.json                        what was built and when (written last)
 *   <cache>/<key>.partial-<pid>/                    a build under way (renamed to <key>/ when done)
 *
 * An entry appears only by rename, so a half-built one is never used; partials whose process is
 * gone are removed, as are other keys' entries (a new recipe makes them useless).
 */

export const KERNEL_FILE = 'vmlinuz';
export const INITRD_FILE = 'initrd.img';
export const DISK_FILE = 'disk.qcow2';
const BUILD_FILE = 'build.json';

export const BuildRecord = Type.Object(
  {
    key: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    kernelVersion: Type.String({ maxLength: 100 }),
    diskBytes: Type.Integer({ minimum: 0 }),
    builtAt: Type.String(),
    buildSeconds: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type BuildRecord = Static<typeof BuildRecord>;

export interface CacheEntry {
  dir: string;
  record: BuildRecord;
  kernel: string;
  initrd: string;
  disk: string;
}

const uid = () => process.getuid?.() ?? 0;

/**
 * The importer reads these files as root: the cache directory and every directory above it must
 * be owned by root (this process's user) and writable by nobody else, or another user could swap
 * a file between the build and the import.
 */
export async function prepareCacheDir(cache: string): Promise<void> {
  await mkdir(cache, { recursive: true, mode: 0o755 });
  for (let dir = cache; ; dir = dirname(dir)) {
    const stats = await lstat(dir);
    if (!stats.isDirectory()) throw new BuildError(`${dir} (on the way to the build cache) is not a directory`);
    if (stats.uid !== uid() && stats.uid !== 0)
      throw new BuildError(`${dir} (on the way to the build cache) is owned by uid ${stats.uid}`);
    if ((stats.mode & 0o022) !== 0 && (stats.mode & 0o1000) === 0)
      throw new BuildError(`${dir} (on the way to the build cache) is writable by others`);
    if (dir === dirname(dir)) break;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A complete entry for `key`, or undefined (absent, or someone removed or replaced files in it). */
export async function readEntry(cache: string, key: string): Promise<CacheEntry | undefined> {
  const dir = join(cache, key);
  try {
    const record: unknown = JSON.parse(await readFile(join(dir, BUILD_FILE), 'utf8'));
    if (!Value.Check(BuildRecord, record) || record.key !== key) return undefined;
    const entry = {
      dir,
      record,
      kernel: join(dir, KERNEL_FILE),
      initrd: join(dir, INITRD_FILE),
      disk: join(dir, DISK_FILE),
    };
    for (const file of [entry.kernel, entry.initrd, entry.disk]) {
      const stats = await lstat(file);
      if (!stats.isFile() || stats.size === 0) return undefined;
    }
    return entry;
  } catch {
    return undefined;
  }
}

/** A fresh directory for this process's build of `key`. */
export async function startPartial(cache: string, key: string): Promise<string> {
  const partial = join(cache, `${key}.partial-${process.pid}`);
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { mode: 0o755 });
  return partial;
}

/**
 * Writes the record last and renames the partial into place. Losing a race to a concurrent build
 * of the same key is fine (its entry is as good); an existing entry that readEntry refused is
 * replaced.
 */
export async function publish(cache: string, partial: string, record: BuildRecord): Promise<CacheEntry> {
  await writeFileAtomic(join(partial, BUILD_FILE), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
  const dir = join(cache, record.key);
  if (!(await readEntry(cache, record.key))) await rm(dir, { recursive: true, force: true });
  try {
    await rename(partial, dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
    await rm(partial, { recursive: true, force: true });
  }
  const entry = await readEntry(cache, record.key);
  if (!entry) throw new BuildError(`${dir} is not a complete build after publishing it`);
  return entry;
}

/** Removes other keys' entries and partials whose build process is gone. */
export async function prune(cache: string, keep: string): Promise<void> {
  for (const name of await readdir(cache)) {
    const partial = /^[0-9a-f]{64}\.partial-(\d+)$/.exec(name);
    if (partial ? isRunning(Number(partial[1])) : name === keep || !/^[0-9a-f]{64}$/.test(name)) continue;
    await rm(join(cache, name), { recursive: true, force: true });
  }
}
