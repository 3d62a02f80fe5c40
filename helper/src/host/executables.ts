import type { Stats } from 'node:fs';
import { dirname } from 'node:path';
import { execa } from 'execa';
import type { HostRoot } from './host-root.js';

/**
 * hearthd runs as root, so it looks for tools only in system directories (never the caller's
 * PATH) and runs only files that nobody but root — or the user running hearthd — could have
 * replaced.
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
  /** Path to execute on this machine (with the probe root). */
  hostPath: string;
}

export type Lookup = { found: true; executable: FoundExecutable } | { found: false; untrusted?: string };

function trusted(stats: Stats): boolean {
  const owners = new Set([0, process.getuid?.() ?? 0]);
  return owners.has(stats.uid) && (stats.mode & 0o022) === 0;
}

export async function findExecutable(host: HostRoot, name: string): Promise<Lookup> {
  let untrusted: string | undefined;
  for (const dir of SYSTEM_BIN_DIRS) {
    const path = `${dir}/${name}`;
    const stats = await host.stat(path);
    if (!stats?.isFile() || (stats.mode & 0o111) === 0) continue;
    const dirStats = await host.stat(dirname(path));
    if (!trusted(stats) || !dirStats || !trusted(dirStats)) {
      untrusted ??= path;
      continue;
    }
    return { found: true, executable: { path, hostPath: host.resolve(path) } };
  }
  return untrusted === undefined ? { found: false } : { found: false, untrusted };
}

/** Runs `<exe> <args>` and returns the first version-looking token of its output. */
export async function readVersion(
  executable: FoundExecutable,
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
