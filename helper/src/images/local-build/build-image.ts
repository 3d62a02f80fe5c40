import { access, copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageStore } from '../image-store.js';
import {
  DISK_FILE,
  INITRD_FILE,
  KERNEL_FILE,
  prepareCacheDir,
  prune,
  publish,
  readEntry,
  startPartial,
} from './cache.js';
import type { CacheEntry } from './cache.js';
import { makeDisk } from './disk.js';
import { ProgressWriter } from './progress.js';
import { DEBIAN_KEYRING, IMAGE_CMDLINE, IMAGE_OS, recipeFor, recipeKey, type Recipe } from './recipe.js';
import { BuildError, findTools, type Tools } from './tools.js';
import { bake, bootFiles, bootstrap, installPackages } from './tree.js';

/**
 * `hearthd build-image`: the local Debian image, built from the archive and imported into the
 * image store. It runs as root OUTSIDE hearthd's sandbox (the installer's one privilege prompt
 * runs it): debootstrap needs chroot, mount and mknod, which the unit forbids. The running
 * daemon is not involved; it sees the image appear in its store, as after install-image.
 */
export interface BuildImageOptions {
  stateDir: string;
  cacheDir: string;
  name: string;
  mirror: string;
  /** null: none (see `Mirrors`). */
  securityMirror: string | null;
}

export interface BuildImageResult {
  name: string;
  key: string;
  cached: boolean;
  /** Wall-clock seconds of the build (0 when served from the cache) and of the import. */
  buildSeconds: number;
  importSeconds: number;
}

const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;

async function build(
  tools: Tools,
  recipe: Recipe,
  key: string,
  cache: string,
  out: ProgressWriter,
): Promise<CacheEntry> {
  const started = Date.now();
  const partial = await startPartial(cache, key);
  try {
    const tree = join(partial, 'tree');
    out.step('bootstrap');
    await bootstrap(tools, recipe, tree, out);
    out.result('changed', `${recipe.suite} from ${recipe.mirror}`);

    out.step('packages');
    await installPackages(tools, recipe, tree, out);
    const boot = await bootFiles(tree);
    out.result('changed', `kernel ${boot.version}`);

    out.step('agent');
    await bake(recipe, tree);
    await copyFile(boot.kernel, join(partial, KERNEL_FILE));
    await copyFile(boot.initrd, join(partial, INITRD_FILE));
    out.result('changed', 'hearth-agent enabled; cloud-init: NoCloud; no host keys');

    out.step('disk');
    out.progress(0, 'mkfs.ext4 -d');
    const diskBytes = await makeDisk(tools, tree, join(partial, 'disk.raw'), join(partial, DISK_FILE));
    await rm(tree, { recursive: true, force: true });
    const entry = await publish(cache, partial, {
      key,
      kernelVersion: boot.version,
      diskBytes,
      builtAt: new Date().toISOString(),
      buildSeconds: seconds(started),
    });
    out.result('changed', `${Math.round(diskBytes / 2 ** 20)} MiB filesystem`);
    return entry;
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Builds the image (or takes it from the cache) and imports it under `name`. Progress goes to
 * `write` as the installer's line protocol; a failure is reported as `::fail` and thrown, and
 * leaves the store as it was (the import is staged and renamed in).
 */
export async function buildImage(options: BuildImageOptions, write: (line: string) => void): Promise<BuildImageResult> {
  const out = new ProgressWriter(write);
  try {
    const recipe = recipeFor({ mirror: options.mirror, security: options.securityMirror });
    const key = recipeKey(recipe);
    await prepareCacheDir(options.cacheDir);
    await prune(options.cacheDir, key);

    let entry = await readEntry(options.cacheDir, key);
    const cached = entry !== undefined;
    if (entry) {
      out.step('bootstrap');
      out.result('unchanged', 'cached');
      for (const step of ['packages', 'agent', 'disk'] as const) {
        out.step(step);
        out.result('unchanged', `cached in ${entry.dir}`);
      }
    } else {
      // Only a build needs debootstrap and Debian's keyring; an import from the cache does not.
      const tools = await findTools();
      await access(DEBIAN_KEYRING).catch(() => {
        throw new BuildError(`${DEBIAN_KEYRING} is missing (apt-get install debian-archive-keyring)`);
      });
      entry = await build(tools, recipe, key, options.cacheDir, out);
    }
    const { 'qemu-img': qemuImg } = await findTools(['qemu-img']);

    out.step('import');
    const started = Date.now();
    await mkdir(options.stateDir, { recursive: true, mode: 0o711 }); // as the unit's StateDirectoryMode
    await new ImageStore(join(options.stateDir, 'images')).install({
      name: options.name,
      kernel: entry.kernel,
      initrd: entry.initrd,
      disk: entry.disk,
      cmdline: IMAGE_CMDLINE,
      qemuImg,
      describe: { os: IMAGE_OS, origin: 'local-build', bootMode: 'kernel', provisioning: 'cloud-init' },
    });
    const importSeconds = seconds(started);
    out.result('changed', `${options.name} (${cached ? 'from the cache' : `built in ${entry.record.buildSeconds} s`})`);
    return { name: options.name, key, cached, buildSeconds: cached ? 0 : entry.record.buildSeconds, importSeconds };
  } catch (error) {
    out.fail(error instanceof Error ? error.message : String(error));
    throw error;
  }
}
