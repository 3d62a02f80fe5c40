/**
 * The Debian machine the installed-unit test boots with systemd-nspawn: a bookworm tree from
 * debootstrap (minbase, plus systemd so it boots a real init) and the packages the install script
 * and hearthd need at run time. Built once and cached OUTSIDE the clone (a fresh clone must not
 * rebuild it, and it holds root-owned files a clone's cleanup should not trip over):
 *
 *   /var/cache/hearth-test/nspawn-<key>/tree           the root file system, never booted itself
 *   /var/cache/hearth-test/nspawn-<key>/manifest.json  packages and versions, written last
 *   /var/cache/hearth-test/node-<key>/node             the Node runtime hearthd ships with
 *
 * <key> hashes what shapes the entry (suite, package lists, this recipe's version), so changing
 * any of it builds a new tree. A build happens in a temporary directory that is renamed into
 * place, so an interrupted build never leaves half a cache. HEARTH_TEST_CACHE moves the root.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { isRunning } from '../../../scripts/test-guest/build-test-guest.js';

export const CACHE_ROOT = process.env.HEARTH_TEST_CACHE ?? '/var/cache/hearth-test';
const SUITE = 'bookworm';
/** Bump when the build steps below change in a way the package lists do not show. */
const RECIPE = 1;

/** debootstrap --include: enough to boot systemd as PID 1 and let systemctl talk to it. */
const BOOT_PACKAGES = ['systemd', 'systemd-sysv', 'dbus'];

/**
 * Installed with apt inside the tree afterwards (debootstrap does not resolve every dependency
 * of these). Deliberately NOT procps: a minimal Debian has no pgrep/pkill, and the install script
 * must not need them.
 */
const RUNTIME_PACKAGES: ReadonlyArray<{ apt: string; why: string }> = [
  { apt: 'acl', why: 'the install script grants socket access with setfacl' },
  { apt: 'qemu-system-x86', why: 'hearthd runs VMs with QEMU (TCG here)' },
  { apt: 'qemu-utils', why: 'environment disks are qcow2 overlays; install-image converts with qemu-img' },
  { apt: 'iproute2', why: "hearthd learns an API caller's uid through ss" },
  { apt: 'curl', why: 'the test calls the socket as a hearth member' },
  { apt: 'nftables', why: "hearthd's NAT and isolation tables for a networked guest" },
  { apt: 'dnsmasq-base', why: 'hearthd serves DHCP and DNS to guests with dnsmasq' },
  { apt: 'dosfstools', why: "hearthd makes each environment's cloud-init seed (mkfs.fat)" },
  { apt: 'mtools', why: 'and fills it without mounting it' },
  { apt: 'openssh-client', why: "hearthd generates the guest's host keys; alice makes her key and SSHes in" },
];

export interface NspawnTree {
  /** The cached root file system: read-only by convention, boot a copy or an overlay of it. */
  tree: string;
  key: string;
  /** Package → version, as dpkg lists them inside the tree. */
  packages: Record<string, string>;
}

type Log = (line: string) => void;

const HOST_TOOLS = { debootstrap: 'debootstrap', 'systemd-nspawn': 'systemd-container' } as const;

/** The Debian packages to install on the host when the tools that build and boot the tree are missing. */
export async function missingHostTools(): Promise<string[]> {
  const missing: string[] = [];
  for (const [tool, apt] of Object.entries(HOST_TOOLS)) {
    const dirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];
    const found = await Promise.any(dirs.map((dir) => access(join(dir, tool), constants.X_OK))).then(
      () => true,
      () => false,
    );
    if (!found) missing.push(`${tool} (apt-get install ${apt})`);
  }
  return missing;
}

/** The Debian archive the host's apt uses for `SUITE` (deb822 or one-line sources), else deb.debian.org. */
export async function debianMirror(): Promise<string> {
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  for (const name of await readdir(dir).catch(() => [])) files.push(join(dir, name));
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:(.*)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      if (uris && suites.includes(SUITE) && /^Components:.*\bmain\b/m.test(stanza)) return uris;
    }
    for (const line of text.split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+.*\bmain\b/.exec(line.trim());
      if (m && m[2] === SUITE) return m[1]!;
    }
  }
  return 'http://deb.debian.org/debian';
}

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** Runs a program (never through a shell) in the C locale; output is returned, and logged on failure. */
async function run(file: string, args: string[], timeoutMs: number): Promise<string> {
  const result = await execa(file, args, {
    // npm (run by stage-helper.mjs) keeps its cache below HOME.
    env: { LC_ALL: 'C', PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env.HOME ?? '/root' },
    extendEnv: false,
    stdin: 'ignore',
    all: true,
    timeout: timeoutMs,
    reject: false,
  });
  if (result.exitCode !== 0 || result.timedOut)
    throw new Error(`${file} ${args.join(' ')} failed (${result.shortMessage}):\n${result.all.slice(-4000)}`);
  return result.stdout;
}

async function readManifest(dir: string): Promise<NspawnTree | undefined> {
  try {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Omit<NspawnTree, 'tree'>;
    await access(join(dir, 'tree', 'usr', 'lib', 'systemd', 'systemd'), constants.X_OK);
    return { ...manifest, tree: join(dir, 'tree') };
  } catch {
    return undefined;
  }
}

/** Drops other keys' entries of `prefix` and the work directories of builds whose process is gone. */
async function prune(prefix: string, keep: string): Promise<void> {
  for (const name of await readdir(CACHE_ROOT)) {
    const builder = /^\.build-(\d+)-/.exec(name);
    if (builder ? isRunning(Number(builder[1])) : name === keep || !name.startsWith(`${prefix}-`)) continue;
    await rm(join(CACHE_ROOT, name), { recursive: true, force: true });
  }
}

/** Renames a finished build into place; losing the race to a concurrent build of the same key is fine. */
async function publish(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
  }
}

async function buildTree(out: string, key: string, log: Log): Promise<void> {
  const tree = join(out, 'tree');
  const mirror = await debianMirror();
  const started = Date.now();
  log(`debootstrap ${SUITE} from ${mirror} into ${tree}`);
  await run('debootstrap', ['--variant=minbase', `--include=${BOOT_PACKAGES.join(',')}`, SUITE, tree, mirror], 600_000);
  log(`debootstrap took ${Date.now() - started} ms; installing ${RUNTIME_PACKAGES.map((p) => p.apt).join(' ')}`);
  // nspawn rather than chroot: it mounts /proc, /sys and /dev for apt's maintainer scripts and
  // unmounts them whatever happens. --keep-unit: there is no systemd on the host to ask for a scope.
  const nspawn = ['-q', '-D', tree, '--register=no', '--keep-unit', '-E', 'DEBIAN_FRONTEND=noninteractive'];
  await run(
    'systemd-nspawn',
    [...nspawn, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...RUNTIME_PACKAGES.map((p) => p.apt)],
    600_000,
  );
  await run('systemd-nspawn', [...nspawn, 'apt-get', 'clean'], 60_000);
  await rm(join(tree, 'var', 'lib', 'apt', 'lists'), { recursive: true, force: true });
  await mkdir(join(tree, 'var', 'lib', 'apt', 'lists', 'partial'), { recursive: true });
  await writeFile(join(tree, 'etc', 'hostname'), 'hearth-test\n');
  const listed = await run(
    'dpkg-query',
    [`--admindir=${join(tree, 'var', 'lib', 'dpkg')}`, '-W', '-f', '${Package}\t${Version}\n'],
    60_000,
  );
  const packages = Object.fromEntries(
    listed
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t') as [string, string]),
  );
  if ('procps' in packages)
    throw new Error('procps got into the tree: the test would no longer prove pgrep is not needed');
  await writeFile(join(out, 'manifest.json'), `${JSON.stringify({ key, packages }, null, 2)}\n`);
  log(`built the nspawn tree in ${Date.now() - started} ms`);
}

let pendingTree: Promise<NspawnTree> | undefined;

/** The cached tree for the current package lists, built first when missing (one build per process). */
export function ensureNspawnTree(log: Log): Promise<NspawnTree> {
  pendingTree ??= (async () => {
    const key = hash({ SUITE, RECIPE, BOOT_PACKAGES, RUNTIME_PACKAGES: RUNTIME_PACKAGES.map((p) => p.apt) });
    const dir = join(CACHE_ROOT, `nspawn-${key}`);
    const cached = await readManifest(dir);
    if (cached) return cached;
    await mkdir(CACHE_ROOT, { recursive: true, mode: 0o755 });
    const work = await mkdtemp(join(CACHE_ROOT, `.build-${process.pid}-`));
    try {
      const out = join(work, 'out');
      await mkdir(out);
      await buildTree(out, key, log);
      // An entry there already is broken (readManifest refused it): move it aside first.
      await rename(dir, join(work, 'broken')).catch(() => undefined);
      await publish(out, dir);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    await prune('nspawn', `nspawn-${key}`);
    const built = await readManifest(dir);
    if (!built) throw new Error(`${dir} has no readable manifest after the build`);
    return built;
  })().catch((error: unknown) => {
    pendingTree = undefined;
    throw error;
  });
  return pendingTree;
}

const STAGE_HELPER = join(import.meta.dirname, '..', '..', '..', 'scripts', 'stage-helper.mjs');

/**
 * The Node runtime packages ship next to hearthd.mjs, staged by scripts/stage-helper.mjs (the
 * same script `npm run dist` runs) into the cache; keyed by that script, which pins the version.
 */
export async function ensureNodeRuntime(log: Log): Promise<string> {
  const key = createHash('sha256')
    .update(await readFile(STAGE_HELPER))
    .digest('hex')
    .slice(0, 16);
  const dir = join(CACHE_ROOT, `node-${key}`);
  const node = join(dir, 'node');
  if (
    await access(node, constants.X_OK).then(
      () => true,
      () => false,
    )
  )
    return node;
  await mkdir(CACHE_ROOT, { recursive: true, mode: 0o755 });
  const work = await mkdtemp(join(CACHE_ROOT, `.build-${process.pid}-`));
  try {
    log(`staging the Node runtime with ${STAGE_HELPER}`);
    await run(process.execPath, [STAGE_HELPER, '--out', join(work, 'out')], 300_000);
    // Only the runtime is cached: VERSION and koffi.node come from this checkout's build.
    await rm(join(work, 'out', 'VERSION'));
    await rm(join(work, 'out', 'koffi.node'), { force: true });
    await publish(join(work, 'out'), dir);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  await prune('node', `node-${key}`);
  return node;
}
