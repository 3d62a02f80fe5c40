import type { Stats } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { execa } from 'execa';
import { isMissing, type HostRoot } from './host-root.js';

/**
 * hearthd runs as root, so it looks for tools only in system directories (never the caller's
 * PATH) and runs only files that nobody but root could have replaced.
 */
export const SYSTEM_BIN_DIRS = [
  '/usr/lib/hearth/bin',
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
] as const;

export interface FoundExecutable {
  /** Path as seen on the probed machine (without the probe root). */
  path: string;
  /** Path to execute on this machine (with the probe root), symlinks resolved. */
  hostPath: string;
  /** Which file it is (device, inode, size, times): a replaced binary has another identity. */
  identity: string;
}

export type Lookup = { found: true; executable: FoundExecutable } | { found: false; untrusted?: string };

export class UntrustedExecutableError extends Error {}

/**
 * Resolves `hostPath` (a path below the host root) to the file it really is and checks every
 * component of that path, from the host root down: owned by root (`host.rootUid`) and writable by
 * nobody else, so neither the file nor any directory on its way could have been swapped by
 * another user. Throws UntrustedExecutableError saying which component fails and why.
 */
export async function verifyExecutable(host: HostRoot, hostPath: string): Promise<FoundExecutable> {
  const real = await realpath(hostPath);
  const inside = relative(host.root, real);
  if (inside.startsWith('..') || isAbsolute(inside))
    throw new UntrustedExecutableError(`${hostPath} resolves to ${real}, outside ${host.root}`);
  const components = inside === '' ? [] : inside.split(sep);
  let stats: Stats | undefined;
  for (let i = 0; i <= components.length; i += 1) {
    const path = join(host.root, ...components.slice(0, i));
    stats = await lstat(path);
    if (stats.uid !== host.rootUid)
      throw new UntrustedExecutableError(`${path} (on the way to ${hostPath}) is owned by uid ${stats.uid}, not root`);
    if ((stats.mode & 0o022) !== 0)
      throw new UntrustedExecutableError(
        `${path} (on the way to ${hostPath}) is writable by ${stats.mode & 0o002 ? 'everyone' : 'its group'}`,
      );
  }
  if (!stats?.isFile() || (stats.mode & 0o111) === 0)
    throw new UntrustedExecutableError(`${real} is not an executable file`);
  const identity = [stats.dev, stats.ino, stats.size, stats.mtimeMs, stats.ctimeMs].join(':');
  const shown = `/${relative(host.root, hostPath)}`;
  return { path: host.isRealRoot ? hostPath : shown, hostPath: real, identity };
}

/**
 * The first trusted `name` in the system directories, checked afresh on every call (a few
 * lstat calls): nothing is remembered, so a binary replaced after one lookup is judged again.
 */
export async function findExecutable(host: HostRoot, name: string): Promise<Lookup> {
  let untrusted: string | undefined;
  for (const dir of SYSTEM_BIN_DIRS) {
    const path = `${dir}/${name}`;
    const stats = await host.stat(path);
    if (!stats?.isFile() || (stats.mode & 0o111) === 0) continue;
    try {
      const executable = await verifyExecutable(host, host.resolve(path));
      return { found: true, executable: { ...executable, path } };
    } catch (error) {
      if (!(error instanceof UntrustedExecutableError) && !isMissing(error)) throw error;
      untrusted ??= path;
    }
  }
  return untrusted === undefined ? { found: false } : { found: false, untrusted };
}

/** Runs `<exe> <args>` and returns the first version-looking token of its output. */
export async function readVersion(
  executable: Pick<FoundExecutable, 'hostPath'>,
  args: readonly string[] = ['--version'],
): Promise<string | undefined> {
  const result = await execa(executable.hostPath, args, {
    timeout: 5_000,
    reject: false,
    stdin: 'ignore',
    env: { LC_ALL: 'C' },
    extendEnv: false,
  });
  const output = `${result.stdout}\n${result.stderr}`;
  return /\bv?(\d+\.\d+(?:\.\d+)?)/.exec(output)?.[1];
}
