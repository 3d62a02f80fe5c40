import { chmod, lstat, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BOOTSTRAP_PACKAGES, DEBIAN_KEYRING, type Recipe } from './recipe.js';
import type { ProgressWriter } from './progress.js';
import { BuildError, inChroot, run, type Tools } from './tools.js';

/**
 * The root filesystem: debootstrap, then apt inside the chroot, then Hearth's files. Every path
 * written here is inside `tree`, a directory this build created (root-owned, below the cache).
 */

const MINUTES = 60_000;

/**
 * debootstrap says what it does, never how far it is: these are its phases, in order, with the
 * share of the step each takes and about how many lines it prints (minbase bookworm: ~110
 * packages), so a phase moves forward per package and never past its end.
 */
const BOOTSTRAP_PHASES: ReadonlyArray<{ line: RegExp; from: number; to: number; lines: number }> = [
  { line: /^I: Retrieving (InRelease|Release|Packages)/, from: 0, to: 5, lines: 4 },
  { line: /^I: (Retrieving|Validating) /, from: 5, to: 40, lines: 220 },
  { line: /^I: Extracting /, from: 40, to: 55, lines: 90 },
  { line: /^I: (Installing core|Unpacking) /, from: 55, to: 80, lines: 100 },
  { line: /^I: Configuring /, from: 80, to: 99, lines: 100 },
];

/** Turns debootstrap's lines into a percent. */
function bootstrapProgress(): (line: string) => number | undefined {
  const seen = BOOTSTRAP_PHASES.map(() => 0);
  return (line) => {
    const index = BOOTSTRAP_PHASES.findIndex((phase) => phase.line.test(line));
    if (index < 0) return undefined;
    const phase = BOOTSTRAP_PHASES[index]!;
    seen[index] = seen[index]! + 1;
    return phase.from + (phase.to - phase.from) * Math.min(seen[index] / phase.lines, 1);
  };
}

export async function bootstrap(tools: Tools, recipe: Recipe, tree: string, progress: ProgressWriter): Promise<void> {
  const percentOf = bootstrapProgress();
  await run(
    tools.debootstrap,
    [
      '--variant=minbase',
      // Without a keyring debootstrap skips the signature check: name Debian's, and fail without it.
      `--keyring=${DEBIAN_KEYRING}`,
      '--force-check-gpg',
      `--include=${BOOTSTRAP_PACKAGES.join(',')}`,
      recipe.suite,
      tree,
      recipe.mirror,
    ],
    {
      timeoutMs: 20 * MINUTES,
      onLine: (line) => {
        const percent = percentOf(line);
        if (percent !== undefined) progress.progress(percent, line.slice(3));
        if (/^[EW]: /.test(line)) progress.log(line);
      },
    },
  );
}

/**
 * Keeps maintainer scripts from starting services inside the chroot (the build host is not the
 * guest); removed again before the image is sealed.
 */
const POLICY_RC = '/usr/sbin/policy-rc.d';

/** `dlstatus:<n>:<percent>:<text>` (downloads: first half) and `pmstatus:…` (dpkg: second half). */
function aptPercent(line: string): { percent: number; text: string } | undefined {
  const match = /^(dlstatus|pmstatus):[^:]*:([\d.]+):(.*)$/.exec(line);
  if (!match) return undefined;
  const share = Number(match[2]) / 2;
  return { percent: match[1] === 'dlstatus' ? share : 50 + share, text: match[3]! };
}

export async function installPackages(
  tools: Tools,
  recipe: Recipe,
  tree: string,
  progress: ProgressWriter,
): Promise<void> {
  await writeInTree(
    tree,
    POLICY_RC,
    '#!/bin/sh\n# Hearth image build: no services start in the chroot.\nexit 101\n',
    0o755,
  );
  // The image's own sources (security updates included) before the first apt run.
  for (const file of recipe.files.filter((f) => f.path.startsWith('/etc/apt/')))
    await writeInTree(tree, file.path, file.content, file.mode);
  // apt reports 0–100 for each run; each run gets its band of the step's percent.
  const within = (from: number, to: number) => ({
    timeoutMs: 30 * MINUTES,
    onLine: (line: string) => {
      if (/^(E|W|Err):/.test(line)) progress.log(line);
    },
    onStatus: (line: string) => {
      const status = aptPercent(line);
      if (status) progress.progress(from + ((to - from) * status.percent) / 100, status.text);
    },
  });
  const apt = ['apt-get', '-q', '-y', '-o', 'APT::Status-Fd=3', '-o', 'Dpkg::Use-Pty=0'];
  await inChroot(tools, tree, [...apt, 'update'], within(0, 5));
  // debootstrap takes the suite as released; point-release and security updates come in here.
  await inChroot(tools, tree, [...apt, 'dist-upgrade'], within(5, 20));
  await inChroot(tools, tree, [...apt, 'install', '--no-install-recommends', ...recipe.packages], within(20, 99));
  await inChroot(tools, tree, ['apt-get', 'clean'], within(99, 99));
}

/**
 * `path` inside the tree, with every directory on the way checked (and made when missing): a
 * symbolic link there could point outside the tree, and this process is root. The tree comes
 * from signed packages; this keeps a surprise in one from turning into a write on the host.
 */
async function inTree(tree: string, path: string): Promise<string> {
  const parts = path.split('/').filter(Boolean);
  let dir = tree;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    const stats = await lstat(dir).catch(() => undefined);
    if (!stats) await mkdir(dir, { mode: 0o755 });
    else if (!stats.isDirectory())
      throw new BuildError(`${dir} is not a directory (a link?): refusing to write below it`);
  }
  return join(dir, parts.at(-1)!);
}

/** Replaces the file (or link) at `path` with a new regular file. */
async function writeInTree(tree: string, path: string, content: string, mode: number): Promise<void> {
  const target = await inTree(tree, path);
  await rm(target, { force: true });
  // wx: created here, never an existing file or a link followed.
  await writeFile(target, content, { mode, flag: 'wx' });
  // writeFile's mode is masked by the umask (0077 where hearthd runs).
  await chmod(target, mode);
}

/** Removes `path` inside the tree, whatever it is (a file, a symlink, a directory). */
async function removeInTree(tree: string, path: string): Promise<void> {
  await rm(await inTree(tree, path), { recursive: true, force: true });
}

/**
 * Hearth's files, the agent enabled, and everything that must differ per environment removed:
 * sshd host keys (each environment gets its own through the seed's ssh_keys), the machine id
 * (systemd makes one on first boot), cloud-init's state, apt's lists (they are large and stale).
 */
export async function bake(recipe: Recipe, tree: string): Promise<void> {
  for (const file of recipe.files) await writeInTree(tree, file.path, file.content, file.mode);
  for (const link of recipe.links) {
    const target = await inTree(tree, link.path);
    await rm(target, { force: true });
    await symlink(link.target, target);
  }
  await removeInTree(tree, POLICY_RC);
  // `/.`: the directory itself is checked as a component on the way.
  const ssh = await inTree(tree, '/etc/ssh/.');
  for (const name of await readdir(ssh)) if (name.startsWith('ssh_host_')) await rm(join(ssh, name));
  // Empty, not absent: systemd then generates one on first boot and treats the boot as the first.
  await writeInTree(tree, '/etc/machine-id', '', 0o444);
  await removeInTree(tree, '/var/lib/dbus/machine-id');
  await removeInTree(tree, '/var/lib/cloud');
  await removeInTree(tree, '/var/lib/apt/lists');
  await mkdir(await inTree(tree, '/var/lib/apt/lists/partial'), { mode: 0o755 });
  await removeInTree(tree, '/var/cache/apt/pkgcache.bin');
  await removeInTree(tree, '/var/cache/apt/srcpkgcache.bin');
  for (const log of ['/var/log/dpkg.log', '/var/log/apt', '/var/log/alternatives.log', '/var/log/bootstrap.log'])
    await removeInTree(tree, log);
}

/** The kernel and initrd the tree's own kernel package installed: exactly one of each. */
export async function bootFiles(tree: string): Promise<{ kernel: string; initrd: string; version: string }> {
  const boot = await inTree(tree, '/boot/.');
  const kernels = (await readdir(boot)).filter((n) => n.startsWith('vmlinuz-'));
  if (kernels.length !== 1)
    throw new BuildError(`expected one kernel in ${boot}, found: ${kernels.join(', ') || 'none'}`);
  const version = kernels[0]!.slice('vmlinuz-'.length);
  const kernel = join(boot, kernels[0]!);
  const initrd = join(boot, `initrd.img-${version}`);
  for (const file of [kernel, initrd]) {
    const stats = await lstat(file).catch(() => undefined);
    if (!stats?.isFile()) throw new BuildError(`${file} is missing or not a regular file`);
  }
  return { kernel, initrd, version };
}
