import { existsSync, readdirSync } from 'node:fs';
import { chmod, link, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The local Debian build (`hearthd build-image`, another part of #9) as its cache holds it:
 * `<cache>/<key>/{vmlinuz,initrd.img,disk.qcow2,build.json}`. Until that part's
 * `installDebianImage` (support/debian-image.ts) is merged, the provisioning test imports a
 * finished build from this cache itself; without one it skips, loudly.
 */
const CACHE = join(process.env.HEARTH_TEST_CACHE ?? '/var/cache/hearth-test', 'image-build');
const CMDLINE = 'root=/dev/vda rw console=ttyS0 net.ifnames=0 panic=-1';

/** A finished build's directory, or undefined. Synchronous: describe.skipIf needs it at collection. */
export function cachedDebianBuild(): string | undefined {
  if (!existsSync(CACHE)) return undefined;
  for (const key of readdirSync(CACHE)) {
    const dir = join(CACHE, key);
    if (
      /^[0-9a-f]{64}$/.test(key) &&
      ['build.json', 'vmlinuz', 'initrd.img', 'disk.qcow2'].every((f) => existsSync(join(dir, f)))
    )
      return dir;
  }
  return undefined;
}

/** Installs the cached build as image `name` of `stateDir` (hard links: the base is never written). */
export async function importCachedDebianImage(stateDir: string, build: string, name: string): Promise<void> {
  const dir = join(stateDir, 'images', name);
  await mkdir(dir, { recursive: true });
  await chmod(join(stateDir, 'images'), 0o755);
  await chmod(dir, 0o755);
  for (const file of ['vmlinuz', 'initrd.img', 'disk.qcow2'])
    if (!(await readdir(dir)).includes(file)) await link(join(build, file), join(dir, file));
  const manifest = {
    name,
    kernel: 'vmlinuz',
    initrd: 'initrd.img',
    disk: 'disk.qcow2',
    cmdline: CMDLINE,
    readyMarker: null,
    installedAt: new Date().toISOString(),
    os: { id: 'debian', version: '12', pretty: 'Debian 12 (bookworm)' },
    origin: 'local-build',
    bootMode: 'kernel',
    provisioning: 'cloud-init',
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
}
