import { rm, truncate, writeFile } from 'node:fs/promises';
import { BuildError, output, run, type Tools } from './tools.js';

/**
 * The root filesystem as a disk image without loop devices or mounts: `mkfs.ext4 -d` copies the
 * tree into a raw file, which becomes a qcow2. The disk is partitionless (/dev/vda is the
 * filesystem) and only a little larger than the tree: environments get overlays grown to their
 * class's disk, and cloud-init's resize_rootfs grows the filesystem on first boot.
 */

const MIB = 1024 * 1024;
/** Room above the tree for the first boot (logs, cloud-init's state) before resize_rootfs runs. */
const HEADROOM_BYTES = 512 * MIB;

/** The bytes the tree's files take (du's count of allocated blocks, hard links once). */
async function treeBytes(tools: Tools, tree: string): Promise<number> {
  const stdout = await output(tools.du, ['-s', '--block-size=1', '-x', tree], 300_000);
  const bytes = Number(stdout.split('\t')[0]);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new BuildError(`du gave no size for ${tree}: ${stdout}`);
  return bytes;
}

export async function makeDisk(tools: Tools, tree: string, raw: string, qcow2: string): Promise<number> {
  // ext4's own metadata (inode tables, journal) takes about a tenth; round up to whole MiB.
  const size = Math.ceil(((await treeBytes(tools, tree)) * 1.15 + HEADROOM_BYTES) / MIB) * MIB;
  await writeFile(raw, '');
  await truncate(raw, size);
  await run(
    tools['mkfs.ext4'],
    [
      '-q',
      '-F',
      '-L',
      'hearth-root',
      '-d',
      tree,
      // Inode tables and journal initialised now: lazily, the guest would do it, slowly under TCG.
      '-E',
      'lazy_itable_init=0,lazy_journal_init=0',
      raw,
    ],
    { timeoutMs: 600_000 },
  );
  await run(tools['qemu-img'], ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, qcow2], { timeoutMs: 600_000 });
  await rm(raw);
  return size;
}
