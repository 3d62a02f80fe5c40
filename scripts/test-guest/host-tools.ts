/**
 * The host programs the test guest's build runs, found without a shell and named with the Debian
 * package that provides each when missing.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';

/** Where the build reports its progress (a line at a time). */
export type Log = (line: string) => void;

const TOOLS = {
  'apt-get': { apt: 'apt', why: 'downloads the kernel and busybox packages' },
  'apt-cache': { apt: 'apt', why: 'resolves the versioned kernel and busybox packages to download' },
  'dpkg-deb': { apt: 'dpkg', why: 'unpacks the downloaded packages without installing them' },
  'mkfs.ext4': { apt: 'e2fsprogs', why: "makes the ext4 filesystem on the guest's base disk" },
  'qemu-img': { apt: 'qemu-utils', why: 'turns the base disk into qcow2' },
  xz: { apt: 'xz-utils', why: 'decompresses .ko.xz kernel modules' },
  zstd: { apt: 'zstd', why: 'decompresses .ko.zst kernel modules' },
} as const;
export type Tool = keyof typeof TOOLS;

/** Absolute path of a host program, also looking in the sbin directories a non-root PATH lacks. */
function findTool(tool: Tool): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return join(dir, tool);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Fails with one message naming every missing program and the Debian packages that provide them. */
export function requireTools(tools: readonly Tool[]): Record<Tool, string> {
  const found = new Map(tools.map((tool) => [tool, findTool(tool)] as const));
  const missing = tools.filter((tool) => !found.get(tool));
  if (missing.length > 0) {
    const lines = missing.map((tool) => `  - ${tool} is missing (it ${TOOLS[tool].why})`);
    const packages = [...new Set(missing.map((tool) => TOOLS[tool].apt))].join(' ');
    throw new Error(
      `Cannot build the test guest:\n${lines.join('\n')}\n` +
        `Install with: sudo apt-get install -y --no-install-recommends ${packages}`,
    );
  }
  return Object.fromEntries(found) as Record<Tool, string>;
}

/** Runs a program (never through a shell) in the C locale, so its output parses the same everywhere. */
export async function run(
  file: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  const { stdout } = await execa(file, args, {
    cwd: options.cwd ?? process.cwd(),
    env: { LC_ALL: 'C' },
    stdin: 'ignore',
    timeout: options.timeoutMs ?? 120_000,
  });
  return stdout;
}
