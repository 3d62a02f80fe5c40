import { chmod, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import writeFileAtomic from 'write-file-atomic';
import { BootMode, ImageName, ImageOrigin, ImageOs, Provisioning, type ImageInfo } from '#protocol';
import { DomainError } from '../errors.js';
import { isMissing } from '../system/host-root.js';
import { copyInput, detectDiskFormat, installDisk, openInput, type OpenedInput } from './image-inputs.js';

/**
 * Image files are root-owned and world-readable in world-searchable directories: VMM processes
 * run as an unprivileged user and read the kernel, initrd and base disk; nothing in an image is
 * secret (an administrator installs a guest OS, and the refusals in image-inputs.ts keep other
 * files from being pulled in).
 */
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

/** A file inside the image's own directory: a bare name, never a path. */
const FileName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' });

/**
 * `<state>/images/<name>/manifest.json`. Images are installed by an administrator
 * (`hearthd install-image`), never through the socket API.
 */
export const ImageManifest = Type.Object(
  {
    name: ImageName,
    /** null for firmware boot (cloud images boot their own kernel). */
    kernel: Type.Union([FileName, Type.Null()]),
    initrd: Type.Union([FileName, Type.Null()]),
    /** qcow2 base disk: environments get overlays backed by it; it is never written. */
    disk: FileName,
    cmdline: Type.String({ maxLength: 2048 }),
    /** A line the guest prints on its serial console once it is ready; null: running = VMM booted. */
    readyMarker: Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()]),
    installedAt: Type.String(),
    /** Absent in manifests written before images had them: see `withDefaults`. */
    os: Type.Optional(ImageOs),
    origin: Type.Optional(ImageOrigin),
    bootMode: Type.Optional(BootMode),
    provisioning: Type.Optional(Provisioning),
  },
  { additionalProperties: false },
);
export type ImageManifest = Static<typeof ImageManifest>;

/** A manifest with every field, older ones read as what they were: kernel-booted, unprovisioned. */
export type FullManifest = Required<ImageManifest>;
function withDefaults(manifest: ImageManifest): FullManifest {
  return {
    ...manifest,
    os: manifest.os ?? { id: 'other', version: '', pretty: manifest.name },
    origin: manifest.origin ?? 'install-image',
    bootMode: manifest.bootMode ?? 'kernel',
    provisioning: manifest.provisioning ?? 'none',
  };
}

export interface Image {
  manifest: FullManifest;
  kernel: string | null;
  initrd: string | null;
  disk: string;
}

/** The files an administrator names for `hearthd install-image`. */
export interface ImageSource {
  name: string;
  kernel: string;
  initrd?: string | undefined;
  disk: string;
  cmdline: string;
  readyMarker?: string | undefined;
  /** What the image is, for builders that know (hearthd build-image); absent: `withDefaults`. */
  describe?: Pick<FullManifest, 'os' | 'origin' | 'bootMode' | 'provisioning'> | undefined;
}

export class ImageStore {
  /** Names this process installed or removed whose change the watcher has not yet seen. */
  private readonly changedHere = new Set<string>();

  constructor(readonly dir: string) {}

  /** Explicit modes (not left to the umask): the VMM user reads images. */
  async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await chmod(this.dir, DIR_MODE);
  }

  /** Whether a change to `name` seen on disk was this process's own (announced where it was made). */
  takeOwnChange(name: string): boolean {
    return this.changedHere.delete(name);
  }

  /** Marks `name` as changed here for the span of `change`, the step that makes it visible. */
  private async changing<T>(name: string, change: () => Promise<T>): Promise<T> {
    this.changedHere.add(name);
    try {
      return await change();
    } catch (error) {
      this.changedHere.delete(name);
      throw error;
    }
  }

  async get(name: string): Promise<Image | undefined> {
    if (!Value.Check(ImageName, name)) return undefined;
    const base = join(this.dir, name);
    let manifest: unknown;
    try {
      manifest = JSON.parse(await readFile(join(base, 'manifest.json'), 'utf8'));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    // A manifest must name its own directory: images are listed, used and deleted by that name.
    if (!Value.Check(ImageManifest, manifest) || manifest.name !== name) return undefined;
    return {
      manifest: withDefaults(manifest),
      kernel: manifest.kernel === null ? null : join(base, manifest.kernel),
      initrd: manifest.initrd === null ? null : join(base, manifest.initrd),
      disk: join(base, manifest.disk),
    };
  }

  /** What the API says of an image (without `usedBy`, which the environments know). */
  async describe(image: Image): Promise<Omit<ImageInfo, 'usedBy'>> {
    const files = [image.kernel, image.initrd, image.disk].filter((f): f is string => f !== null);
    const sizes = await Promise.all(
      files.map((f) =>
        stat(f).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    );
    const { manifest } = image;
    return {
      name: manifest.name,
      os: manifest.os,
      origin: manifest.origin,
      bootMode: manifest.bootMode,
      provisioning: manifest.provisioning,
      sizeBytes: sizes.reduce((a, b) => a + b, 0),
      readyMarker: manifest.readyMarker,
      installedAt: manifest.installedAt,
    };
  }

  /**
   * Removes an image: renamed aside first, so it is gone from the list at once and a crash
   * half-way leaves a hidden directory the next removal or start clears, never a half image.
   */
  async remove(name: string): Promise<void> {
    if (!(await this.get(name))) throw new DomainError('not-found', `There is no image "${name}"`);
    const aside = join(this.dir, `.deleting-${name}-${process.pid}`);
    await this.changing(name, () => rename(join(this.dir, name), aside));
    await rm(aside, { recursive: true, force: true });
  }

  /** The image a create without one uses: the only one, or the one named `default`. */
  async defaultName(): Promise<string> {
    const names = await this.names();
    if (names.length === 1) return names[0]!;
    if (names.includes('default')) return 'default';
    throw new DomainError(
      'invalid',
      names.length === 0 ? 'No image is installed' : `Name an image: ${names.join(', ')}`,
      names.length === 0
        ? 'an administrator installs one with: hearthd install-image --name … (see README)'
        : undefined,
    );
  }

  async names(): Promise<string[]> {
    return (await this.list()).map((image) => image.manifest.name);
  }

  /** Every installed image with a valid manifest, by name; each manifest read once. */
  async list(): Promise<Image[]> {
    let entries;
    try {
      entries = await readdir(this.dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    // Dot names are hearthd's own: staging, deleting, downloads.
    const names = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
    const images = await Promise.all(names.sort().map((name) => this.get(name)));
    return images.filter((image): image is Image => image !== undefined);
  }

  /**
   * Installs an image from files an administrator names: copies the kernel and initrd, converts
   * the disk to a standalone qcow2, writes the manifest, and swaps the directory in atomically.
   * Inputs are opened and checked (see image-inputs.ts) before anything is written.
   */
  async install(source: ImageSource & { qemuImg: string }): Promise<ImageManifest> {
    if (!Value.Check(ImageName, source.name)) throw new Error(`invalid image name ${JSON.stringify(source.name)}`);
    const inputs: OpenedInput[] = [];
    const opened = async (what: string, path: string) => {
      const input = await openInput(what, path);
      inputs.push(input);
      return input;
    };
    try {
      const kernel = await opened('kernel', source.kernel);
      const initrd = source.initrd ? await opened('initrd', source.initrd) : undefined;
      const disk = await opened('disk', source.disk);
      const format = await detectDiskFormat(disk);
      const fields = {
        kernel: 'vmlinuz',
        initrd: source.initrd ? 'initrd.img' : null,
        disk: 'disk.qcow2',
        cmdline: source.cmdline,
        readyMarker: source.readyMarker ?? null,
        ...source.describe,
      };
      return await this.stage(source.name, fields, async (staging) => {
        await copyInput(kernel, join(staging, 'vmlinuz'), FILE_MODE);
        if (initrd) await copyInput(initrd, join(staging, 'initrd.img'), FILE_MODE);
        await installDisk(source.qemuImg, disk, format, join(staging, 'disk.qcow2'), FILE_MODE);
      });
    } finally {
      await Promise.all(inputs.map((i) => i.handle.close()));
    }
  }

  /**
   * Installs a cloud image hearthd downloaded and verified itself (images/catalog/): the disk
   * becomes a standalone qcow2 under the same checks as an administrator's (no backing or data
   * file), booted by the VMM's firmware and provisioned by cloud-init.
   */
  async installDownloaded(source: {
    name: string;
    os: ImageOs;
    disk: string;
    qemuImg: string;
  }): Promise<ImageManifest> {
    if (!Value.Check(ImageName, source.name)) throw new Error(`invalid image name ${JSON.stringify(source.name)}`);
    const disk = await openInput('disk', source.disk);
    try {
      const format = await detectDiskFormat(disk);
      const fields = { kernel: null, initrd: null, disk: 'disk.qcow2', cmdline: '', readyMarker: null };
      const described = { os: source.os, origin: 'catalog', bootMode: 'firmware', provisioning: 'cloud-init' } as const;
      return await this.stage(source.name, { ...fields, ...described }, (staging) =>
        installDisk(source.qemuImg, disk, format, join(staging, 'disk.qcow2'), FILE_MODE),
      );
    } finally {
      await disk.handle.close();
    }
  }

  private async stage(
    name: string,
    fields: Omit<ImageManifest, 'name' | 'installedAt'>,
    write: (staging: string) => Promise<void>,
  ): Promise<ImageManifest> {
    await this.ensureDir();
    const final = join(this.dir, name);
    const staging = join(this.dir, `.staging-${name}-${process.pid}`);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging);
    await chmod(staging, DIR_MODE);
    try {
      await write(staging);
      const manifest: ImageManifest = { name, ...fields, installedAt: new Date().toISOString() };
      if (!Value.Check(ImageManifest, manifest)) throw new Error('invalid image manifest');
      await writeFileAtomic(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, {
        mode: FILE_MODE,
      });
      const old = `${final}.old-${process.pid}`;
      await rename(final, old).catch((error: unknown) => {
        if (!isMissing(error)) throw error;
      });
      await this.changing(name, () => rename(staging, final));
      await rm(old, { recursive: true, force: true });
      return manifest;
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
  }
}
