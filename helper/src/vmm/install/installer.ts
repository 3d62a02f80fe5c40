import { chmod, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { extractFromDeb } from './deb.js';
import { download } from './download.js';
import { readInstalledRelease } from './installed-release.js';
import {
  BINARY_FILE,
  FIRMWARE_FILE,
  MANIFEST_FILE,
  releaseDir,
  vmmRoot,
  type ReleaseManifest,
  type ReleasePin,
} from './release.js';

/** The installer's line protocol (assets/linux/hearth-install.sh, protocol/schemas/app.ts). */
export interface StepReporter {
  step(id: InstallStep, title: string): void;
  progress(id: InstallStep, percent: number, message: string): void;
  result(id: InstallStep, outcome: 'changed' | 'unchanged' | 'skipped', note?: string): void;
  fail(id: InstallStep, message: string): void;
}
export type InstallStep = 'download' | 'verify-digest' | 'firmware' | 'install-vmm';

export class InstallError extends Error {
  constructor(
    readonly step: InstallStep,
    message: string,
  ) {
    super(message);
  }
}

export interface InstallOptions {
  stateDir: string;
  pin: ReleasePin;
  /** A mirror serving the pinned files under their names (tests, machines without GitHub). */
  baseUrl?: string | undefined;
  report: StepReporter;
}

/** Writes the protocol lines to stdout, one each. Messages are kept to one line. */
export function lineReporter(write: (line: string) => void): StepReporter {
  const one = (text: string) => text.replace(/\s+/g, ' ').trim();
  return {
    step: (id, title) => write(`::step ${id} ${one(title)}`),
    progress: (id, percent, message) => write(`::progress ${id} ${Math.round(percent)} ${one(message)}`),
    result: (id, outcome, note) => write(`::result ${id} ${outcome}${note ? ` ${one(note)}` : ''}`),
    fail: (id, message) => write(`::fail ${id} ${one(message)}`),
  };
}

/**
 * `hearthd install-cloud-hypervisor`: downloads the pinned release and its firmware into a
 * root-only staging directory, verifies both against the pinned digests, and only then renames
 * the whole directory into place as `<state>/vmm/cloud-hypervisor-<version>/` (root 0755;
 * binary 0755, CLOUDHV.fd and manifest.json 0644). Any failure, or a kill at any point, leaves
 * nothing installed but a staging directory the next run removes. Already installed and intact:
 * every step is `unchanged`.
 */
export async function installCloudHypervisor(options: InstallOptions): Promise<ReleaseManifest> {
  const { pin, report, stateDir } = options;
  const root = vmmRoot(stateDir);
  await mkdir(stateDir, { recursive: true, mode: 0o711 });
  await mkdir(root, { recursive: true, mode: 0o755 });
  await chmod(root, 0o755);
  await removeLeftovers(root);

  const installed = await readInstalledRelease(stateDir, pin).catch(() => undefined);
  if (installed) {
    for (const id of ['download', 'verify-digest', 'firmware', 'install-vmm'] as const) {
      report.step(id, STEP_TITLES[id](pin));
      report.result(id, 'unchanged', `v${pin.version} is installed in ${installed.dir}`);
    }
    return installed.manifest;
  }

  const staging = await mkdtemp(join(root, '.staging-'));
  try {
    const urls = (file: { urls: string[]; name: string }) =>
      options.baseUrl ? [`${options.baseUrl.replace(/\/+$/, '')}/${file.name}`] : file.urls;

    let id: InstallStep = 'download';
    report.step(id, STEP_TITLES[id](pin));
    const binary = await step(id, () =>
      download(pin.binary, urls(pin.binary), join(staging, BINARY_FILE), (p, m) => report.progress('download', p, m)),
    );
    report.result(id, 'changed', `${binary.size} bytes from ${binary.url}`);

    id = 'verify-digest';
    report.step(id, STEP_TITLES[id](pin));
    if (binary.sha256 !== pin.binary.sha256)
      throw new InstallError(id, `SHA-256 ${binary.sha256} is not the pinned ${pin.binary.sha256}; nothing installed`);
    report.result(id, 'changed', `sha256 ${binary.sha256}`);

    id = 'firmware';
    report.step(id, STEP_TITLES[id](pin));
    const debPath = join(staging, pin.firmwarePackage.name);
    const deb = await step(id, () =>
      download(pin.firmwarePackage, urls(pin.firmwarePackage), debPath, (p, m) => report.progress('firmware', p, m)),
    );
    if (deb.sha256 !== pin.firmwarePackage.sha256)
      throw new InstallError(
        id,
        `${pin.firmwarePackage.name} has SHA-256 ${deb.sha256}, not the pinned ${pin.firmwarePackage.sha256}; nothing installed`,
      );
    const firmware = await step(id, () =>
      extractFromDeb(debPath, pin.firmware.member, staging, join(staging, FIRMWARE_FILE), pin.firmware.size),
    );
    if (firmware.sha256 !== pin.firmware.sha256)
      throw new InstallError(id, `CLOUDHV.fd has SHA-256 ${firmware.sha256}, not the pinned ${pin.firmware.sha256}`);
    await rm(debPath);
    for (const other of await readdir(staging))
      if (other.startsWith('data.tar')) await rm(join(staging, other), { force: true });
    report.result(
      id,
      'changed',
      `CLOUDHV.fd from ${pin.firmwarePackage.package} ${pin.firmwarePackage.packageVersion}`,
    );

    id = 'install-vmm';
    report.step(id, STEP_TITLES[id](pin));
    const manifest: ReleaseManifest = {
      version: pin.version,
      installedAt: new Date().toISOString(),
      binary: { file: BINARY_FILE, sha256: binary.sha256, size: binary.size, url: binary.url },
      firmware: {
        file: FIRMWARE_FILE,
        sha256: firmware.sha256,
        size: firmware.size,
        package: pin.firmwarePackage.package,
        packageVersion: pin.firmwarePackage.packageVersion,
        packageSha256: deb.sha256,
        url: deb.url,
      },
    };
    const dir = releaseDir(stateDir, pin.version);
    await step(id, async () => {
      await chmod(join(staging, BINARY_FILE), 0o755);
      await chmod(join(staging, FIRMWARE_FILE), 0o644);
      await writeFileAtomic(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
      await chmod(staging, 0o755);
      // An older copy of this version (damaged, or from another pin) goes aside, then away.
      const old = `${dir}.old-${Date.now()}`;
      await rename(dir, old).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      });
      await rename(staging, dir);
      await rm(old, { recursive: true, force: true });
    });
    report.result(id, 'changed', `installed in ${dir}`);
    return manifest;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

const STEP_TITLES: Record<InstallStep, (pin: ReleasePin) => string> = {
  download: (pin) => `Download Cloud Hypervisor v${pin.version}`,
  'verify-digest': () => 'Verify its SHA-256 digest against the pinned one',
  firmware: (pin) => `Download and verify its firmware (CLOUDHV.fd, Debian ${pin.firmwarePackage.package})`,
  'install-vmm': () => 'Install Cloud Hypervisor and its firmware',
};

async function step<T>(id: InstallStep, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof InstallError) throw error;
    throw new InstallError(id, (error as Error).message);
  }
}

/** An interrupted run's staging directory, or a replaced copy not yet removed (root's own tree). */
async function removeLeftovers(root: string): Promise<void> {
  for (const name of await readdir(root)) {
    if (name.startsWith('.staging-') || /\.old-\d+$/.test(name))
      await rm(join(root, name), { recursive: true, force: true });
  }
}
