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
 * Usage: npm run guest:build [-- --force] [--dir]   (prints the guest's paths as JSON, or with
 *        --dir only its directory)
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync } from 'node:fs';
import {
  access,
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { basename, delimiter, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { execa } from 'execa';

/** What /init prints on the serial console once booted and answering the ACPI power button. */
export const READY_MARKER = 'HEARTH-GUEST-READY';
/** Serial console only; on a kernel panic reboot at once, so QEMU run with -no-reboot exits instead of hanging. */
export const KERNEL_CMDLINE = 'console=ttyS0 panic=-1 quiet';

const SCRIPT_DIR = import.meta.dirname;
const INIT_SCRIPT = join(SCRIPT_DIR, 'init.sh');
export const CACHE_ROOT = resolve(SCRIPT_DIR, '..', '..', '.cache', 'test-guest');
const KERNEL_METAPACKAGE = 'linux-image-cloud-amd64';
const BUSYBOX_PACKAGE = 'busybox-static';
const DISK_BYTES = 64 * 1024 * 1024;
const MANIFEST = 'manifest.json';

/**
 * The modules /init insmods, in this order; each one's dependencies (read from the module itself:
 * the package ships no modules.dep) are loaded before it, and modules built into the kernel are
 * skipped. The virtio-net chain is the order the cloud kernel needs (see HEARTH.md).
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

// ---------------------------------------------------------------------------------------------
// Host tools

const TOOLS = {
  'apt-get': { apt: 'apt', why: 'downloads the kernel and busybox packages' },
  'apt-cache': { apt: 'apt', why: `resolves the kernel package behind ${KERNEL_METAPACKAGE}` },
  'dpkg-deb': { apt: 'dpkg', why: 'unpacks the downloaded packages without installing them' },
  'mkfs.ext4': { apt: 'e2fsprogs', why: "makes the ext4 filesystem on the guest's base disk" },
  'qemu-img': { apt: 'qemu-utils', why: 'turns the base disk into qcow2' },
  xz: { apt: 'xz-utils', why: 'decompresses .ko.xz kernel modules' },
  zstd: { apt: 'zstd', why: 'decompresses .ko.zst kernel modules' },
} as const;
type Tool = keyof typeof TOOLS;

/** Absolute path of a host program, also looking in the sbin directories a non-root PATH lacks. */
function findTool(tool: Tool): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return join(dir, tool);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Fails with one message naming every missing program and the Debian packages that provide them. */
function requireTools(tools: readonly Tool[]): Record<Tool, string> {
  const found = new Map(tools.map((tool) => [tool, findTool(tool)] as const));
  const missing = tools.filter((tool) => !found.get(tool));
  if (missing.length > 0) {
    const lines = missing.map((tool) => `  - ${tool} is missing (it ${TOOLS[tool].why})`);
    const packages = [...new Set(missing.map((tool) => TOOLS[tool].apt))].join(' ');
    throw new Error(
      `Cannot build the test guest:\n${lines.join('\n')}\n` +
        `Install with: sudo apt-get install -y --no-install-recommends ${packages}`,
    );
  }
  return Object.fromEntries(found) as Record<Tool, string>;
}

/** Runs a program (never through a shell) in the C locale, so its output parses the same everywhere. */
async function run(file: string, args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}) {
  const { stdout } = await execa(file, args, {
    cwd: options.cwd ?? process.cwd(),
    env: { LC_ALL: 'C' },
    stdin: 'ignore',
    timeout: options.timeoutMs ?? 120_000,
  });
  return stdout;
}

// ---------------------------------------------------------------------------------------------
// Debian packages

interface Packages {
  /** The versioned kernel package behind linux-image-cloud-amd64, e.g. linux-image-6.1.0-56-cloud-amd64. */
  kernelPackage: string;
  kernelPackageVersion: string;
  busyboxVersion: string;
}

/** The candidate versions apt would download (`apt-cache show` prints one stanza per package). */
async function candidateVersions(aptCache: string, packages: string[]): Promise<Map<string, string>> {
  // One call: apt-cache parses every package list on each run, which takes most of a second here.
  const show = await execa(aptCache, ['show', '--no-all-versions', ...packages], {
    env: { LC_ALL: 'C' },
    stdin: 'ignore',
    reject: false,
  });
  const versions = new Map<string, string>();
  for (const stanza of show.stdout.split(/\n\n+/)) {
    const pkg = /^Package: (\S+)$/m.exec(stanza)?.[1];
    const version = /^Version: (\S+)$/m.exec(stanza)?.[1];
    if (pkg && version) versions.set(pkg, version);
  }
  return versions;
}

async function tryResolvePackages(aptCache: string): Promise<Packages | undefined> {
  const depends = await execa(aptCache, ['depends', KERNEL_METAPACKAGE], {
    env: { LC_ALL: 'C' },
    stdin: 'ignore',
    reject: false,
  });
  const kernelPackage = /^\s*Depends: (linux-image-\S+)$/m.exec(depends.stdout)?.[1];
  if (depends.exitCode !== 0 || !kernelPackage) return undefined;
  const versions = await candidateVersions(aptCache, [kernelPackage, BUSYBOX_PACKAGE]);
  const kernelPackageVersion = versions.get(kernelPackage);
  const busyboxVersion = versions.get(BUSYBOX_PACKAGE);
  if (!kernelPackageVersion || !busyboxVersion) return undefined;
  return { kernelPackage, kernelPackageVersion, busyboxVersion };
}

/** Refreshes apt's package lists; only root can, so anyone else is told the command. */
async function aptUpdate(why: string, log: Log): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error(`${why}. Run: sudo apt-get update`);
  const aptGet = requireTools(['apt-get'])['apt-get'];
  log(`${why}: running apt-get update`);
  await run(aptGet, ['update', '-q'], { timeoutMs: 300_000 });
}

/** Resolves what to build from, updating apt's lists only when they do not know the packages. */
async function resolvePackages(log: Log): Promise<Packages> {
  const aptCache = requireTools(['apt-cache'])['apt-cache'];
  const known = await tryResolvePackages(aptCache);
  if (known) return known;
  await aptUpdate(`apt does not know ${KERNEL_METAPACKAGE} or ${BUSYBOX_PACKAGE}`, log);
  const updated = await tryResolvePackages(aptCache);
  if (updated) return updated;
  throw new Error(
    `apt knows no ${KERNEL_METAPACKAGE} or ${BUSYBOX_PACKAGE} even after apt-get update: ` +
      'the test guest needs a Debian (amd64) host with the main component in its sources.',
  );
}

/** Downloads exactly the resolved versions (so the cache key matches what is inside). */
async function downloadPackages(packages: Packages, dir: string, aptGet: string) {
  // As root, apt hands downloads to the _apt user, who cannot write to our 0700 build directory.
  const sandbox = process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : [];
  const wanted = [
    `${packages.kernelPackage}=${packages.kernelPackageVersion}`,
    `${BUSYBOX_PACKAGE}=${packages.busyboxVersion}`,
  ];
  try {
    await run(aptGet, [...sandbox, '-q', 'download', ...wanted], { cwd: dir, timeoutMs: 600_000 });
  } catch (error) {
    throw new DownloadError(`apt-get download ${wanted.join(' ')} failed: ${(error as Error).message}`);
  }
  const files = await readdir(dir);
  const deb = (pkg: string) => {
    const file = files.find((name) => name.startsWith(`${pkg}_`) && name.endsWith('.deb'));
    if (!file) throw new Error(`apt-get download left no ${pkg}_*.deb in ${dir}`);
    return join(dir, file);
  };
  return { kernel: deb(packages.kernelPackage), busybox: deb(BUSYBOX_PACKAGE) };
}

/** A download failure, which stale apt lists explain (the archive dropped the version they name). */
class DownloadError extends Error {}

// ---------------------------------------------------------------------------------------------
// Kernel modules

interface ModuleTree {
  dir: string;
  /** Module name (with `_`, as the kernel names it) → file. */
  files: Map<string, string>;
  builtin: Set<string>;
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

/** The modules to put in the initramfs, dependencies first, in GUEST_MODULES order otherwise. */
async function resolveModules(tree: ModuleTree): Promise<{ load: Map<string, Buffer>; builtin: string[] }> {
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

// ---------------------------------------------------------------------------------------------
// Initramfs: the kernel's "newc" cpio format, written here so device nodes need no root and the
// archive is byte-for-byte reproducible (every mtime 0, every owner root).

interface CpioEntry {
  name: string;
  mode: number;
  data?: Buffer;
  /** Device number [major, minor] of a character device. */
  rdev?: [number, number];
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;

function cpioHeader(ino: number, entry: CpioEntry, size: number): Buffer {
  const [rdevMajor, rdevMinor] = entry.rdev ?? [0, 0];
  const nlink = (entry.mode & S_IFDIR) === S_IFDIR ? 2 : 1;
  const nameSize = Buffer.byteLength(entry.name) + 1;
  // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  const fields = [ino, entry.mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, nameSize, 0];
  return Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`, 'ascii');
}

function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let length = 0;
  const push = (part: Buffer) => {
    parts.push(part);
    length += part.length;
  };
  const align = () => push(Buffer.alloc((4 - (length % 4)) % 4));
  [...entries, { name: 'TRAILER!!!', mode: 0 }].forEach((entry, index) => {
    const data = entry.data ?? Buffer.alloc(0);
    push(cpioHeader(index + 1, entry, data.length));
    push(Buffer.from(`${entry.name}\0`));
    align();
    push(data);
    align();
  });
  return Buffer.concat(parts);
}

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

// ---------------------------------------------------------------------------------------------
// The build

type Log = (line: string) => void;

/** What a cache entry holds; file names are relative to the entry's directory. */
interface Manifest {
  key: string;
  kernelPackage: string;
  kernelPackageVersion: string;
  busyboxVersion: string;
  kernelVersion: string;
  kernel: string;
  initrd: string;
  baseDisk: string;
  readyMarker: string;
  cmdline: string;
  /** Modules /init loads, in order. */
  modules: string[];
  /** Wanted modules (or their dependencies) that are built into this kernel. */
  builtinModules: string[];
}

/** A built guest: the manifest with absolute paths. */
export type BuiltTestGuest = Manifest & { dir: string };

/**
 * The only kernel inside the unpacked package: its modules directory names it. Bookworm's packages
 * put modules in lib/modules/<version>/, trixie's (merged /usr) in usr/lib/modules/<version>/.
 */
async function findKernel(root: string): Promise<{ version: string; modulesDir: string }> {
  for (const parent of [join(root, 'lib', 'modules'), join(root, 'usr', 'lib', 'modules')]) {
    const versions = await readdir(parent).catch(() => []);
    if (versions.length > 1) throw new Error(`expected one kernel in ${parent}, found: ${versions.join(', ')}`);
    if (versions[0]) return { version: versions[0], modulesDir: join(parent, versions[0]) };
  }
  throw new Error(`no lib/modules/<version>/ directory in the unpacked kernel package (${root})`);
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

/** Builds a complete cache entry in `out` (inside `work`) and returns its manifest. */
async function buildEntry(key: string, packages: Packages, work: string, out: string, log: Log): Promise<Manifest> {
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
  const modules = await resolveModules(await indexModules(modulesDir));
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
  await writeFile(join(out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Everything but the kernel version that shapes the guest: this directory's files and busybox's version. */
async function cacheKey(packages: Packages): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`${packages.kernelPackage}\0${packages.busyboxVersion}\0`);
  for (const name of (await readdir(SCRIPT_DIR)).sort()) {
    hash.update(`${name}\0`).update(await readFile(join(SCRIPT_DIR, name)));
  }
  const version = packages.kernelPackageVersion.replace(/[^A-Za-z0-9.+-]/g, '_');
  return `${version}-${hash.digest('hex').slice(0, 16)}`;
}

function withPaths(dir: string, manifest: Manifest): BuiltTestGuest {
  return {
    ...manifest,
    dir,
    kernel: join(dir, manifest.kernel),
    initrd: join(dir, manifest.initrd),
    baseDisk: join(dir, manifest.baseDisk),
  };
}

/** A published entry is complete (its directory appears only by rename), unless someone deleted files in it. */
async function readEntry(dir: string): Promise<BuiltTestGuest | undefined> {
  try {
    const guest = withPaths(dir, JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest);
    await Promise.all([guest.kernel, guest.initrd, guest.baseDisk].map((file) => access(file, constants.R_OK)));
    return guest;
  } catch {
    return undefined;
  }
}

/** Whether a process exists (EPERM: it does, as another user). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes other keys' entries and the work directories of builds whose process is gone. */
async function pruneCache(keep: string): Promise<void> {
  for (const name of await readdir(CACHE_ROOT)) {
    const builder = /^\.build-(\d+)-/.exec(name);
    if (name === keep || (builder && isRunning(Number(builder[1])))) continue;
    await rm(join(CACHE_ROOT, name), { recursive: true, force: true });
  }
}

/** Moves a finished entry into place. Losing a race to a concurrent build of the same key is fine. */
async function publish(out: string, dir: string, replace: boolean): Promise<void> {
  if (replace) await rename(dir, `${out}.old`).catch(() => undefined);
  try {
    await rename(out, dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
  }
}

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
    await buildEntry(key, packages, work, out, log);
    // Not forced, an entry that is there already is broken (readEntry refused it): replace it too.
    await publish(out, dir, force || existsSync(dir));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  await pruneCache(key);
  log(`built the test guest in ${Date.now() - started} ms: ${dir}`);
  const built = await readEntry(dir);
  if (!built) throw new Error(`${dir} has no readable ${MANIFEST} after the build`);
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
