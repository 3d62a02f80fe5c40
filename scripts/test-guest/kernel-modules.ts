/**
 * The kernel modules the test guest's /init loads, taken from the unpacked kernel package:
 * indexed, their dependencies read from each module itself (the package ships no modules.dep),
 * built-in ones skipped, and decompressed, since busybox's insmod takes only plain ELF.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { requireTools, type Tool } from './host-tools.js';

/**
 * The modules /init insmods, in this order; each one's dependencies are loaded before it, and
 * modules built into the kernel are skipped. The virtio-net chain is the order the cloud kernel
 * needs (see HEARTH.md).
 */
const GUEST_MODULES: ReadonlyArray<{ name: string; optional?: boolean }> = [
  { name: 'virtio_ring' },
  { name: 'virtio' },
  { name: 'virtio_pci_modern_dev' },
  { name: 'virtio_pci_legacy_dev' },
  { name: 'virtio_pci' },
  { name: 'failover' },
  { name: 'net_failover' },
  { name: 'virtio_net' },
  { name: 'virtio_blk' },
  // ext4 checksums its metadata with crc32c, which a modular ext4 would request through modprobe;
  // there is none in the guest. Optional: newer kernels provide crc32c from lib/ instead.
  { name: 'crc32c_generic', optional: true },
  { name: 'ext4' },
  // The ACPI power button becomes an input device; evdev gives acpid a /dev/input node to read.
  { name: 'button' },
  { name: 'evdev' },
];

interface ModuleTree {
  dir: string;
  /** Module name (with `_`, as the kernel names it) → file. */
  files: Map<string, string>;
  builtin: Set<string>;
}

/** The modules to load, dependencies first, each as the ELF bytes insmod takes. */
export interface GuestModules {
  /** Module name → uncompressed module, in load order. */
  load: Map<string, Buffer>;
  /** Wanted modules (or their dependencies) that are built into this kernel. */
  builtin: string[];
}

/**
 * The only kernel inside the unpacked package: its modules directory names it. Bookworm's packages
 * put modules in lib/modules/<version>/, trixie's (merged /usr) in usr/lib/modules/<version>/.
 */
export async function findKernel(root: string): Promise<{ version: string; modulesDir: string }> {
  for (const parent of [join(root, 'lib', 'modules'), join(root, 'usr', 'lib', 'modules')]) {
    const versions = await readdir(parent).catch(() => []);
    if (versions.length > 1) throw new Error(`expected one kernel in ${parent}, found: ${versions.join(', ')}`);
    if (versions[0]) return { version: versions[0], modulesDir: join(parent, versions[0]) };
  }
  throw new Error(`no lib/modules/<version>/ directory in the unpacked kernel package (${root})`);
}

/** virtio-rng.ko is the module virtio_rng: the kernel treats - and _ in module names alike. */
function moduleName(file: string): string {
  return basename(file)
    .replace(/\.ko(\.(gz|xz|zst))?$/, '')
    .replaceAll('-', '_');
}

async function indexModules(dir: string): Promise<ModuleTree> {
  const files = new Map<string, string>();
  for (const path of await readdir(join(dir, 'kernel'), { recursive: true })) {
    if (/\.ko(\.(gz|xz|zst))?$/.test(path)) files.set(moduleName(path), join(dir, 'kernel', path));
  }
  const builtinList = await readFile(join(dir, 'modules.builtin'), 'utf8');
  const builtin = new Set(builtinList.split('\n').filter(Boolean).map(moduleName));
  return { dir, files, builtin };
}

/** The module's ELF bytes: insmod (busybox) takes only uncompressed modules, so decompress here. */
async function readModule(file: string): Promise<Buffer> {
  if (file.endsWith('.ko')) return readFile(file);
  if (file.endsWith('.ko.gz')) return gunzipSync(await readFile(file));
  const tool: Tool = file.endsWith('.ko.xz') ? 'xz' : 'zstd';
  const path = requireTools([tool])[tool];
  const { stdout } = await execa(path, ['-dc', file], { encoding: 'buffer', stdin: 'ignore', timeout: 60_000 });
  return Buffer.from(stdout);
}

/** The `depends=` entry of the module's .modinfo section (NUL-separated key=value strings). */
function moduleDepends(ko: Buffer): string[] {
  const key = '\0depends=';
  const at = ko.indexOf(key);
  if (at < 0) return [];
  const start = at + key.length;
  const value = ko.subarray(start, ko.indexOf(0, start)).toString('latin1');
  return value.split(',').filter(Boolean).map(moduleName);
}

/**
 * The modules to put in the initramfs from the kernel's modules directory (lib/modules/<version>),
 * dependencies first, in GUEST_MODULES order otherwise.
 */
export async function resolveGuestModules(modulesDir: string): Promise<GuestModules> {
  const tree = await indexModules(modulesDir);
  const load = new Map<string, Buffer>();
  const builtin = new Set<string>();
  const visiting = new Set<string>();
  const visit = async (name: string, optional: boolean, neededBy: string[]): Promise<void> => {
    if (load.has(name) || builtin.has(name)) return;
    if (tree.builtin.has(name)) {
      builtin.add(name);
      return;
    }
    const file = tree.files.get(name);
    if (!file) {
      if (optional) return;
      const chain = neededBy.length ? ` (needed by ${neededBy.join(' ← ')})` : '';
      throw new Error(`kernel module ${name}${chain} is neither built in nor in ${tree.dir}`);
    }
    if (visiting.has(name)) throw new Error(`kernel modules depend on each other in a cycle: ${neededBy.join(', ')}`);
    visiting.add(name);
    const ko = await readModule(file);
    for (const dep of moduleDepends(ko)) await visit(dep, false, [name, ...neededBy]);
    load.set(name, ko);
  };
  for (const { name, optional } of GUEST_MODULES) await visit(name, optional ?? false, []);
  return { load, builtin: [...builtin] };
}
