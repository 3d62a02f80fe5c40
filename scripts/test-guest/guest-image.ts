/**
 * Makes one test guest's files from the resolved Debian packages: the kernel, the initramfs (/init,
 * busybox, the modules /init loads) and the empty base disk, then the manifest that lists them.
 */
import { chmod, copyFile, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BUSYBOX_PACKAGE, downloadPackages, type Packages } from './debian-packages.js';
import { type Manifest, writeManifest } from './guest-cache.js';
import { type Log, requireTools, run, type Tool } from './host-tools.js';
import { findKernel, resolveGuestModules } from './kernel-modules.js';
import { type CpioEntry, cpioArchive, S_IFCHR, S_IFDIR, S_IFREG } from './newc-cpio.js';

/** What /init prints on the serial console once booted and answering the ACPI power button. */
export const READY_MARKER = 'HEARTH-GUEST-READY';
/** Serial console only; on a kernel panic reboot at once, so QEMU run with -no-reboot exits instead of hanging. */
export const KERNEL_CMDLINE = 'console=ttyS0 panic=-1 quiet';

const INIT_SCRIPT = join(import.meta.dirname, 'init.sh');
const DISK_BYTES = 64 * 1024 * 1024;

function initramfsEntries(init: Buffer, busybox: Buffer, modules: Map<string, Buffer>): CpioEntry[] {
  const dirs = ['bin', 'dev', 'etc', 'lib', 'lib/modules', 'mnt', 'proc', 'root', 'run', 'sys', 'tmp', 'var'];
  return [
    ...dirs.map((name) => ({ name, mode: S_IFDIR | (name === 'tmp' ? 0o1777 : 0o755) })),
    // The kernel opens /dev/console for /init's stdio before devtmpfs is mounted.
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdev: [5, 1] },
    { name: 'init', mode: S_IFREG | 0o755, data: init },
    { name: 'bin/busybox', mode: S_IFREG | 0o755, data: busybox },
    ...[...modules].map(([name, ko]) => ({ name: `lib/modules/${name}.ko`, mode: S_IFREG | 0o644, data: ko })),
    { name: 'lib/modules/load-order', mode: S_IFREG | 0o644, data: Buffer.from([...modules.keys(), ''].join('\n')) },
  ];
}

/** The first of `paths` that exists: packages moved from /bin to /usr/bin with trixie's merged /usr. */
async function readFirst(paths: string[]): Promise<Buffer> {
  for (const path of paths) {
    const data = await readFile(path).catch(() => undefined);
    if (data) return data;
  }
  throw new Error(`none of these exists: ${paths.join(', ')}`);
}

async function makeBaseDisk(path: string, workDir: string, tools: Record<Tool, string>): Promise<void> {
  const raw = join(workDir, 'base.raw');
  await writeFile(raw, '');
  await truncate(raw, DISK_BYTES);
  // Initialise inode tables and journal now: lazy init would run in the guest, slowly under TCG.
  const mkfsArgs = ['-q', '-F', '-L', 'hearth-test', '-m', '0', '-E', 'lazy_itable_init=0,lazy_journal_init=0'];
  await run(tools['mkfs.ext4'], [...mkfsArgs, raw]);
  await run(tools['qemu-img'], ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, path]);
  await rm(raw);
  // A shared template: VMs boot overlays of it. Read-only makes a VM opening it directly fail loudly.
  await chmod(path, 0o444);
}

/** Builds a complete cache entry in `out` (inside the scratch directory `work`) and returns its manifest. */
export async function buildGuestImage(
  key: string,
  packages: Packages,
  work: string,
  out: string,
  log: Log,
): Promise<Manifest> {
  const tools = requireTools(['apt-get', 'dpkg-deb', 'mkfs.ext4', 'qemu-img']);
  const init = await readFile(INIT_SCRIPT);
  if (!init.includes(READY_MARKER)) throw new Error(`${INIT_SCRIPT} does not print ${READY_MARKER}`);

  log(`downloading ${packages.kernelPackage} ${packages.kernelPackageVersion} and ${BUSYBOX_PACKAGE}`);
  const debs = await downloadPackages(packages, work, tools['apt-get']);
  const kernelRoot = join(work, 'kernel');
  const busyboxRoot = join(work, 'busybox');
  await run(tools['dpkg-deb'], ['-x', debs.kernel, kernelRoot]);
  await run(tools['dpkg-deb'], ['-x', debs.busybox, busyboxRoot]);

  const { version: kernelVersion, modulesDir } = await findKernel(kernelRoot);
  await copyFile(join(kernelRoot, 'boot', `vmlinuz-${kernelVersion}`), join(out, 'vmlinuz'));
  const modules = await resolveGuestModules(modulesDir);
  log(`kernel ${kernelVersion}: loading ${[...modules.load.keys()].join(' ')}; built in: ${modules.builtin.join(' ')}`);

  const busybox = await readFirst([join(busyboxRoot, 'bin', 'busybox'), join(busyboxRoot, 'usr', 'bin', 'busybox')]);
  const initramfs = cpioArchive(initramfsEntries(init, busybox, modules.load));
  await writeFile(join(out, 'initrd.img'), gzipSync(initramfs, { level: 9 }));
  await makeBaseDisk(join(out, 'base.qcow2'), work, tools);

  const manifest: Manifest = {
    key,
    ...packages,
    kernelVersion,
    kernel: 'vmlinuz',
    initrd: 'initrd.img',
    baseDisk: 'base.qcow2',
    readyMarker: READY_MARKER,
    cmdline: KERNEL_CMDLINE,
    modules: [...modules.load.keys()],
    builtinModules: modules.builtin,
  };
  await writeManifest(out, manifest);
  return manifest;
}
