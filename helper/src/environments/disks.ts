import { execa } from 'execa';

const virtualSizes = new Map<string, Promise<number>>();

/** The size the guest sees, from `qemu-img info` (cached per base: bases never change in place). */
export function virtualSize(qemuImg: string, disk: string, cache = false): Promise<number> {
  const cached = cache ? virtualSizes.get(disk) : undefined;
  if (cached) return cached;
  const size = execa(qemuImg, ['info', '--output=json', '-U', disk], { timeout: 30_000, stdin: 'ignore' }).then(
    (info) => (JSON.parse(info.stdout) as { 'virtual-size': number })['virtual-size'],
  );
  if (cache) {
    virtualSizes.set(disk, size);
    size.catch(() => virtualSizes.delete(disk));
  }
  return size;
}

/**
 * Environment disks are qcow2 overlays over the image's read-only base: creating one writes a
 * few hundred KiB of metadata and never copies the base. The overlay is created at the class's
 * size at once (one `qemu-img create`, the same as create-then-resize), never smaller than the
 * base.
 */
export async function createOverlay(qemuImg: string, base: string, overlay: string, sizeGiB: number): Promise<void> {
  const size = Math.max(sizeGiB * 1024 ** 3, await virtualSize(qemuImg, base, true));
  await execa(qemuImg, ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, overlay, String(size)], {
    timeout: 60_000,
    stdin: 'ignore',
  });
}
