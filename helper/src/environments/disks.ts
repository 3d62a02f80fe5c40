import { execa } from 'execa';

/**
 * Environment disks are qcow2 overlays over the image's read-only base: creating one writes a
 * few hundred KiB of metadata and never copies the base.
 */
export async function createOverlay(qemuImg: string, base: string, overlay: string, sizeGiB: number): Promise<void> {
  await execa(qemuImg, ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, overlay], {
    timeout: 60_000,
    stdin: 'ignore',
  });
  await resizeDisk(qemuImg, overlay, sizeGiB);
}

/** Grows the disk to `sizeGiB` (never shrinks: that would cut off the guest's data). */
export async function resizeDisk(qemuImg: string, disk: string, sizeGiB: number): Promise<void> {
  const info = await execa(qemuImg, ['info', '--output=json', '-U', disk], { timeout: 30_000, stdin: 'ignore' });
  const virtualSize = (JSON.parse(info.stdout) as { 'virtual-size': number })['virtual-size'];
  const wanted = sizeGiB * 1024 ** 3;
  if (virtualSize >= wanted) return;
  await execa(qemuImg, ['resize', '-q', '-f', 'qcow2', disk, String(wanted)], { timeout: 60_000, stdin: 'ignore' });
}
