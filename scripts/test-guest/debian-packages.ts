/**
 * The two Debian packages the test guest is made from: which versions apt offers now, and
 * downloading exactly those (never installing them on the host).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { type Log, requireTools, run } from './host-tools.js';

export const KERNEL_METAPACKAGE = 'linux-image-cloud-amd64';
export const BUSYBOX_PACKAGE = 'busybox-static';

export interface Packages {
  /** The versioned kernel package behind linux-image-cloud-amd64, e.g. linux-image-6.1.0-56-cloud-amd64. */
  kernelPackage: string;
  kernelPackageVersion: string;
  busyboxVersion: string;
}

/** A download failure, which stale apt lists explain (the archive dropped the version they name). */
export class DownloadError extends Error {}

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
export async function aptUpdate(why: string, log: Log): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error(`${why}. Run: sudo apt-get update`);
  const aptGet = requireTools(['apt-get'])['apt-get'];
  log(`${why}: running apt-get update`);
  await run(aptGet, ['update', '-q'], { timeoutMs: 300_000 });
}

/** Resolves what to build from, updating apt's lists only when they do not know the packages. */
export async function resolvePackages(log: Log): Promise<Packages> {
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

/** Downloads exactly the resolved versions (so the cache key matches what is inside) into `dir`. */
export async function downloadPackages(
  packages: Packages,
  dir: string,
  aptGet: string,
): Promise<{ kernel: string; busybox: string }> {
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
