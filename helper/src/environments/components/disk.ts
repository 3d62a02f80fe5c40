import { chmod, chown, rename, rm } from 'node:fs/promises';
import type { ImageStore } from '../../images/image-store.js';
import { regularFileSize } from '../../system/safe-read.js';
import { createOverlay } from '../disks.js';
import type { Component, ComponentContext, SpecContribution } from './component.js';

/** The environment's qcow2 overlay over its image's base disk. */
export class DiskComponent implements Component {
  readonly name = 'disk';

  constructor(
    private readonly images: ImageStore,
    private readonly qemuImg: () => Promise<string>,
  ) {}

  async create(ctx: ComponentContext): Promise<void> {
    const started = Date.now();
    await this.make(ctx);
    await ctx.journal(
      'disk-created',
      `qcow2 overlay over ${ctx.spec.image}, ${ctx.spec.resources.diskGiB} GiB, in ${Date.now() - started} ms`,
    );
  }

  async prepare(ctx: ComponentContext): Promise<SpecContribution> {
    if ((await regularFileSize(ctx.layout.disk)) === 0) {
      await this.make(ctx);
      await ctx.journal('disk-created', 'disk was missing; created a new overlay');
    }
    // Cloud Hypervisor opens the disk by path, as the VMM user; QEMU is handed an open fd, so
    // its disk stays root's and no other VMM can open it.
    await handOver(ctx.layout.disk, ctx);
    return { devices: [{ kind: 'disk', path: ctx.layout.disk }] };
  }

  teardown(): Promise<void> {
    return Promise.resolve();
  }

  /** A create killed half-way leaves only the partial file, never a disk that looks whole. */
  async recover(ctx: ComponentContext): Promise<void> {
    await rm(`${ctx.layout.disk}.partial`, { force: true });
  }

  async destroy(ctx: ComponentContext): Promise<void> {
    await rm(ctx.layout.disk, { force: true });
    await rm(`${ctx.layout.disk}.partial`, { force: true });
  }

  private async make(ctx: ComponentContext): Promise<void> {
    const image = await this.images.get(ctx.spec.image);
    if (!image) throw new Error(`its image ${ctx.spec.image} is no longer installed; reinstall it`);
    const partial = `${ctx.layout.disk}.partial`;
    await rm(partial, { force: true });
    await createOverlay(await this.qemuImg(), image.disk, partial, ctx.spec.resources.diskGiB);
    await chmod(partial, 0o600);
    await rename(partial, ctx.layout.disk);
  }
}

/**
 * The VMM's file when it opens files by path, root's (0600) otherwise. A VMM's file has group
 * root and mode 0660: hearthd runs without CAP_DAC_OVERRIDE, so it reads (console offsets, logs)
 * and rotates the file through that group; the VMM user is in no such group and cannot change it.
 */
export async function handOver(file: string, ctx: ComponentContext): Promise<void> {
  const vmm = ctx.vmmOpensFiles ? ctx.vmmUser : undefined;
  await chown(file, vmm?.uid ?? 0, 0).catch((error: unknown) => {
    // A development hearthd that is not root cannot chown: its files are its own already.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM' || process.getuid?.() === 0) throw error;
  });
  await chmod(file, vmm ? VMM_FILE_MODE : 0o600);
}

/** A file the VMM user owns and hearthd reads and truncates through group root (see handOver). */
export const VMM_FILE_MODE = 0o660;
