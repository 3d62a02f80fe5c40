import { constants } from 'node:fs';
import { access, lstat, readlink, realpath, stat } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import type { CliStatus } from '#protocol';

/** Where the install script puts the command (hearth-install.sh install): root-owned, 0755. */
export const CLI_INSTALLED_PATH = '/usr/lib/hearth/hearth';
/** Where "Install the hearth command" links it (hearth-install.sh link-cli's default). */
export const CLI_LINK_PATH = '/usr/local/bin/hearth';
export const CLI_USAGE = 'hearth --help';

export interface CliStatusOptions {
  /**
   * Offer the link (runInstaller link-cli) when it is missing: the AppImage, whose users have no
   * package to provide /usr/bin/hearth; also development against a scratch root.
   */
  offerLink: boolean;
  /** Look below this root instead of / (development and tests: the installer's --root). */
  root?: string;
  /** The PATH to search; default: the app's own, or the usual bin directories below `root`. */
  pathEnv?: string;
}

const below = (root: string | undefined, path: string) => (root === undefined ? path : join(root, path));
const exists = (path: string) =>
  lstat(path).then(
    () => true,
    () => false,
  );

/**
 * Follows links as if `root` were /: an absolute link below a scratch root means a path below that
 * root, not on this machine. Without a root, the system's own resolution.
 */
async function resolve(path: string, root: string | undefined): Promise<string> {
  if (root === undefined) return realpath(path);
  let current = path;
  for (let hops = 0; hops < 16; hops += 1) {
    if (!(await lstat(join(root, current))).isSymbolicLink()) return current;
    const next = await readlink(join(root, current));
    current = isAbsolute(next) ? next : join(dirname(current), next);
  }
  throw new Error(`too many levels of links at ${path}`);
}

/** The first executable regular file called `name` in PATH's absolute directories, as a shell finds it. */
export async function findOnPath(name: string, pathEnv: string, root?: string): Promise<string | null> {
  for (const dir of pathEnv.split(delimiter)) {
    // A relative entry ("", ".") depends on the shell's working directory: not where a command "is".
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      const file = below(root, await resolve(candidate, root));
      if (!(await stat(file)).isFile()) continue;
      await access(file, constants.X_OK);
      return candidate;
    } catch {
      // not there, not a file, or not executable: the shell goes on too
    }
  }
  return null;
}

/** Whether `hearth` is on PATH (and what it is), whether it is installed, and whether to offer the link. */
export async function cliStatus(options: CliStatusOptions): Promise<CliStatus> {
  const { root } = options;
  const pathEnv = options.pathEnv ?? (root === undefined ? (process.env.PATH ?? '') : '/usr/local/bin:/usr/bin:/bin');
  const command = await findOnPath('hearth', pathEnv, root);
  const target = command === null ? null : await resolve(command, root).catch(() => null);
  const installed = await exists(below(root, CLI_INSTALLED_PATH));
  const linkTaken = await exists(below(root, CLI_LINK_PATH));
  return {
    command,
    target,
    installedPath: CLI_INSTALLED_PATH,
    installed,
    linkPath: CLI_LINK_PATH,
    canLink: options.offerLink && installed && command === null && !linkTaken,
    usage: CLI_USAGE,
  };
}
