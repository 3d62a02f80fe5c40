import { chmod, chown, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ImageStore } from '../../images/image-store.js';
import { readHostPrivateKeys } from '../../guest/host-keys.js';
import { seedFiles } from '../../guest/user-data.js';
import type { Component, ComponentContext, SpecContribution } from './component.js';

export const SEED_FILE = 'seed.img';
/** 1 MiB of FAT: the agent, the keys and the YAML need a few tens of KiB. */
const SEED_KIB = 1024;

export interface SeedTools {
  /** mkfs.fat (mkfs.vfat), from dosfstools. */
  mkfsFat: () => Promise<string>;
  /** The mtools binary; its commands are run as `mtools -c mcopy`, since it dispatches on argv[0]. */
  mtools: () => Promise<string>;
}

const run = (binary: string, args: string[]) =>
  execa(binary, args, {
    stdin: 'ignore',
    timeout: 30_000,
    // mtools would otherwise complain about the image's geometry; nothing else is inherited.
    env: { LC_ALL: 'C', MTOOLS_SKIP_CHECK: '1' },
    extendEnv: false,
  });

/**
 * cloud-init's NoCloud seed for images with provisioning: a FAT image labelled CIDATA with
 * meta-data, network-config and user-data (guest/user-data.ts), root's 0600 file handed to the
 * VMM read-only. Rebuilt before every launch, so a changed key or subnet reaches the guest; the
 * instance id stays the environment id, so cloud-init still provisions only once per instance.
 * It holds no one's secret but the guest's own host private keys.
 */
export class SeedComponent implements Component {
  readonly name = 'seed';

  constructor(
    private readonly images: ImageStore,
    private readonly tools: SeedTools,
    /** Test-only (`--test-provision-fail NAME`): this environment's cloud-init gets a failing step. */
    private readonly failProvisioningOf?: string,
  ) {}

  async prepare(ctx: ComponentContext): Promise<SpecContribution> {
    const image = await this.images.get(ctx.spec.image);
    if (image?.manifest.provisioning !== 'cloud-init') {
      await this.teardown(ctx);
      return {};
    }
    const seed = join(ctx.layout.stateDir, SEED_FILE);
    const partial = `${seed}.partial`;
    const staging = join(ctx.layout.stateDir, 'seed.staging');
    await this.clean(ctx);
    await mkdir(staging, { mode: 0o700 });
    try {
      const { network, hostKeys } = ctx.state;
      const files = seedFiles({
        spec: { ...ctx.spec, ...(network && { network }), ...(hostKeys && { hostKeys }) },
        hostPrivateKeys: await readHostPrivateKeys(ctx.layout.stateDir),
        failingStep: this.failProvisioningOf === ctx.spec.name,
      });
      await run(await this.tools.mkfsFat(), ['-n', 'CIDATA', '-C', partial, String(SEED_KIB)]);
      await chmod(partial, 0o600);
      const mtools = await this.tools.mtools();
      for (const [name, content] of Object.entries(files) as [string, string][]) {
        const file = join(staging, name);
        await writeFile(file, content, { mode: 0o600, flag: 'wx' });
        await run(mtools, ['-c', 'mcopy', '-i', partial, file, `::${name}`]);
      }
      // Cloud Hypervisor opens disks by path as the VMM user: it may read the seed, never change it.
      // QEMU gets a read-only fd, so the seed stays root's alone.
      if (ctx.vmmOpensFiles && ctx.vmmUser) {
        await chown(partial, 0, ctx.vmmUser.gid);
        await chmod(partial, 0o640);
      }
      await rename(partial, seed);
    } finally {
      await rm(staging, { recursive: true, force: true });
      await rm(partial, { force: true });
    }
    // The agent in the seed reports over the guest channel: the two go together.
    return { devices: [{ kind: 'seed', path: seed }, { kind: 'guest-channel' }] };
  }

  /** The seed stays between launches (it is rebuilt anyway); only half-made files go. */
  async teardown(ctx: ComponentContext): Promise<void> {
    await this.clean(ctx);
  }

  async recover(ctx: ComponentContext): Promise<void> {
    await this.clean(ctx);
  }

  async destroy(ctx: ComponentContext): Promise<void> {
    await this.clean(ctx);
    await rm(join(ctx.layout.stateDir, SEED_FILE), { force: true });
  }

  private async clean(ctx: ComponentContext): Promise<void> {
    const seed = join(ctx.layout.stateDir, SEED_FILE);
    await rm(join(ctx.layout.stateDir, 'seed.staging'), { recursive: true, force: true });
    await rm(`${seed}.partial`, { force: true });
  }
}
