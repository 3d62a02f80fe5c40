import { chmod, cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The accounts every scratch root starts with: root, the installing user alice, and kvm. */
export const SEED_ACCOUNTS: ReadonlyArray<[path: string, content: string, mode: number]> = [
  ['etc/passwd', 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n', 0o644],
  ['etc/group', 'root:x:0:\nkvm:x:992:\nalice:x:1000:\n', 0o644],
  ['etc/shadow', 'root:*:19000:0:99999:7:::\nalice:*:19000:0:99999:7:::\n', 0o640],
  ['etc/gshadow', 'root:*::\nkvm:!::\nalice:!::\n', 0o640],
];

/**
 * A minimal machine for hearth-install.sh's `--root`: accounts and the usual directories, and
 * with `systemdUnits` a copy of the host's units (systemd-analyze verify resolves dependencies
 * such as multi-user.target against them).
 */
export async function seedScratchRoot(prefix: string, options: { systemdUnits?: boolean } = {}): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  await chmod(root, 0o755);
  for (const dir of ['etc/systemd/system', 'etc/tmpfiles.d', 'usr/lib/systemd', 'run', 'var/lib'])
    await mkdir(join(root, dir), { recursive: true });
  for (const [path, content, mode] of SEED_ACCOUNTS) {
    await writeFile(join(root, path), content);
    await chmod(join(root, path), mode);
  }
  if (options.systemdUnits) {
    await cp('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), {
      recursive: true,
      verbatimSymlinks: true,
    });
  }
  return root;
}
