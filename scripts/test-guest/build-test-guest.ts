/**
 * Builds the test guest: the small VM that fast tests boot under QEMU TCG. Everything comes from
 * Debian packages (the CI machines reach only Debian's archive and npm): the kernel from
 * linux-image-cloud-amd64, a static busybox from busybox-static, both downloaded and unpacked here,
 * never installed on the host. The result lives in <repo>/.cache/test-guest/<key>/ (gitignored):
 *
 *   vmlinuz        the kernel
 *   initrd.img     gzip'd newc initramfs: /init (init.sh), /bin/busybox, the modules /init loads
 *   base.qcow2     64 MiB ext4 disk, read-only template: boot an overlay of it
 *   manifest.json  what went in (package versions, modules) — written last
 *
 * <key> names the kernel package version plus a hash of everything else that shapes the guest
 * (this directory's files, busybox's version), so any change rebuilds. A build happens in a
 * temporary directory and is renamed into place, so an interrupted build never leaves half a cache.
 *
 * The parts, one job each: host-tools.ts (the host programs run), debian-packages.ts (which
 * versions, and their download), kernel-modules.ts (the modules /init loads), newc-cpio.ts (the
 * initramfs format), guest-image.ts (one entry's files), guest-cache.ts (key, entries, pruning).
 *
 * Usage: npm run guest:build [-- --force] [--dir]   (prints the guest's paths as JSON, or with
 *        --dir only its directory)
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { aptUpdate, DownloadError, type Packages, resolvePackages } from './debian-packages.js';
import { type BuiltTestGuest, CACHE_ROOT, cacheKey, publish, pruneCache, readEntry } from './guest-cache.js';
import { buildGuestImage } from './guest-image.js';
import type { Log } from './host-tools.js';

export { type BuiltTestGuest, CACHE_ROOT, isRunning } from './guest-cache.js';
export { KERNEL_CMDLINE, READY_MARKER } from './guest-image.js';

async function build(packages: Packages, force: boolean, log: Log): Promise<BuiltTestGuest> {
  const key = await cacheKey(packages);
  const dir = join(CACHE_ROOT, key);
  const cached = force ? undefined : await readEntry(dir);
  if (cached) {
    await pruneCache(key);
    return cached;
  }

  const started = Date.now();
  await mkdir(CACHE_ROOT, { recursive: true });
  const work = await mkdtemp(join(CACHE_ROOT, `.build-${process.pid}-`));
  try {
    const out = join(work, 'out');
    await mkdir(out);
    await buildGuestImage(key, packages, work, out, log);
    // Not forced, an entry that is there already is broken (readEntry refused it): replace it too.
    await publish(out, dir, force || existsSync(dir));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  await pruneCache(key);
  log(`built the test guest in ${Date.now() - started} ms: ${dir}`);
  const built = await readEntry(dir);
  if (!built) throw new Error(`${dir} has no readable manifest after the build`);
  return built;
}

/**
 * Returns the test guest for the kernel apt offers now, building it when the cache has no entry
 * for that kernel and these build files (or when forced).
 */
export async function ensureTestGuestBuilt(options: { force?: boolean; log?: Log } = {}): Promise<BuiltTestGuest> {
  const log = options.log ?? (() => undefined);
  const packages = await resolvePackages(log);
  try {
    return await build(packages, options.force ?? false, log);
  } catch (error) {
    if (!(error instanceof DownloadError)) throw error;
    // Stale lists name a version the archive has replaced: refresh them and build the new one.
    await aptUpdate(`${error.message}\nThe package lists may be stale`, log);
    return build(await resolvePackages(log), options.force ?? false, log);
  }
}

async function main(args: string[]): Promise<void> {
  const unknown = args.filter((arg) => arg !== '--force' && arg !== '--dir');
  if (unknown.length > 0)
    throw new Error(`unknown arguments: ${unknown.join(' ')}\nusage: build-test-guest [--force] [--dir]`);
  const guest = await ensureTestGuestBuilt({ force: args.includes('--force'), log: (line) => console.error(line) });
  console.log(args.includes('--dir') ? guest.dir : JSON.stringify(guest, null, 2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
