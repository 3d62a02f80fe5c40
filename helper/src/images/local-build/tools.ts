import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { findExecutable } from '../../system/executables.js';
import { HostRoot } from '../../system/host-root.js';

/**
 * The host programs the build runs, found the way hearthd finds any program (system directories
 * only, root-owned all the way down), and the Debian package that provides each.
 */
const TOOLS = {
  debootstrap: 'debootstrap',
  unshare: 'util-linux',
  chroot: 'coreutils',
  du: 'coreutils',
  'mkfs.ext4': 'e2fsprogs',
  'qemu-img': 'qemu-utils',
} as const;
export type Tool = keyof typeof TOOLS;
export type Tools = Record<Tool, string>;

export class BuildError extends Error {}

/** `only`: the programs this run needs (an import from the cache needs qemu-img alone). */
export async function findTools<T extends Tool = Tool>(only?: readonly T[]): Promise<Pick<Tools, T>> {
  const host = new HostRoot('/');
  const found: Partial<Tools> = {};
  const missing: string[] = [];
  for (const tool of only ?? (Object.keys(TOOLS) as T[])) {
    const lookup = await findExecutable(host, tool);
    if (lookup.found) found[tool] = lookup.executable.hostPath;
    else missing.push(lookup.untrusted ? `${tool} (${lookup.untrusted} is not root-owned)` : tool);
  }
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((m) => TOOLS[m.split(' ')[0] as Tool]))].join(' ');
    throw new BuildError(
      `missing programs: ${missing.join(', ')} (Debian/Ubuntu: apt-get install --no-install-recommends ${packages})`,
    );
  }
  return found as Pick<Tools, T>;
}

/** A clean environment for the build's programs: nothing of the caller's leaks into the image. */
export const BUILD_ENV = {
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  LC_ALL: 'C',
  HOME: '/root',
  DEBIAN_FRONTEND: 'noninteractive',
  DEBCONF_NONINTERACTIVE_SEEN: 'true',
};

export interface RunOptions {
  /** Each line of stdout and stderr. */
  onLine?: (line: string) => void;
  /** Each line written to fd 3 (apt's APT::Status-Fd). */
  onStatus?: (line: string) => void;
  timeoutMs: number;
}

function eachLine(stream: Readable | null | undefined, handle: ((line: string) => void) | undefined): Promise<void> {
  if (!stream) return Promise.resolve();
  if (!handle) {
    stream.resume();
    return Promise.resolve();
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', handle);
  return new Promise((resolve) => lines.once('close', resolve));
}

/**
 * Runs a program (never a shell) with BUILD_ENV, streaming its output by line. On failure the
 * error carries the last lines, which say why (a 404 from the mirror, a dpkg error).
 */
export async function run(file: string, args: readonly string[], options: RunOptions): Promise<void> {
  const tail: string[] = [];
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    options.onLine?.(line);
  };
  const child = execa(file, args, {
    env: BUILD_ENV,
    extendEnv: false,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    timeout: options.timeoutMs,
    killSignal: 'SIGKILL',
    reject: false,
    buffer: false,
  });
  const [result] = await Promise.all([
    child,
    eachLine(child.stdout, onLine),
    eachLine(child.stderr, onLine),
    eachLine(child.stdio[3] as Readable | undefined, options.onStatus),
  ]);
  if (result.exitCode !== 0 || result.timedOut) {
    const why = result.timedOut ? `timed out after ${options.timeoutMs / 1000} s` : `exit ${result.exitCode}`;
    throw new BuildError(`${file.split('/').pop()} failed (${why}): ${tail.slice(-6).join(' | ')}`);
  }
}

/** Runs a program and returns its standard output (for short answers: a size, a version). */
export async function output(file: string, args: readonly string[], timeoutMs: number): Promise<string> {
  const result = await execa(file, args, {
    env: BUILD_ENV,
    extendEnv: false,
    stdin: 'ignore',
    timeout: timeoutMs,
    reject: false,
  });
  if (result.exitCode !== 0 || result.timedOut)
    throw new BuildError(`${file.split('/').pop()} failed (${result.shortMessage}): ${result.stderr.slice(-1000)}`);
  return result.stdout;
}

/**
 * Runs a program inside the tree: chroot in fresh mount and PID namespaces with its own /proc, so
 * whatever happens (a failure, a kill, a crash of this process) no mount outlives the command and
 * no daemon a maintainer script starts survives it.
 */
export function inChroot(tools: Tools, tree: string, args: readonly string[], options: RunOptions): Promise<void> {
  return run(
    tools.unshare,
    [
      '--mount',
      '--propagation',
      'private',
      '--pid',
      '--fork',
      // If unshare itself is killed (the build's timeout), everything in the namespace dies too.
      '--kill-child',
      `--mount-proc=${tree}/proc`,
      '--',
      tools.chroot,
      tree,
      ...args,
    ],
    options,
  );
}
