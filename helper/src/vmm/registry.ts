import { basename } from 'node:path';
import type { DetectedVmm, Settings, VmmKind } from '#protocol';
import { DomainError } from '../errors.js';
import { findExecutable, readVersion, verifyExecutable } from '../system/executables.js';
import { HostRoot } from '../system/host-root.js';
import { CloudHypervisorDriver } from './cloud-hypervisor/ch-driver.js';
import { autoTakesCloudHypervisor, resolveAccel, type Accel } from './accelerator.js';
import type { VmmDriver } from './driver.js';
import { FIRMWARE_PATHS } from './firmware.js';
import { readInstalledRelease } from './install/installed-release.js';
import type { ReleasePin } from './install/release.js';
import { QemuDriver } from './qemu/qemu-driver.js';

export interface VmmOverrides {
  /** Test-only: run this file as Cloud Hypervisor (the contract double). A CLI flag, never an API field. */
  cloudHypervisorBinary?: string | undefined;
  /** hearthd's state directory: `hearthd install-cloud-hypervisor` installs its release below it. */
  stateDir?: string | undefined;
  /** Tests only (never a flag): the release pin an installed release must match (default PINNED_RELEASE). */
  releasePin?: ReleasePin | undefined;
}

interface Binary {
  /** Where to run it from (below the probe root in tests). */
  path: string;
  /** Where it is on the machine, as reported to callers. */
  shownPath: string;
  version: string;
  /** Cloud Hypervisor's firmware for cloud images (CLOUDHV.fd or hypervisor-fw), when there is one. */
  firmware?: string | undefined;
}

const KINDS: readonly VmmKind[] = ['cloud-hypervisor', 'qemu'];
const REAL_ROOT = new HostRoot('/');

/** Finds the VMM binaries and builds the driver the settings ask for. */
export class VmmRegistry {
  private readonly versions = new Map<string, Promise<string>>();

  constructor(
    private readonly host: HostRoot,
    private readonly overrides: VmmOverrides,
    /** Whether KVM can boot standard guests here (from the readiness report's own facts). */
    private readonly kvmBootsGuests: () => Promise<boolean>,
  ) {}

  /** The VMMs found, preferred first: what `GET /v1/version` reports, from the same lookup VMs use. */
  async detected(): Promise<DetectedVmm[]> {
    const found = await Promise.all(KINDS.map(async (kind) => ({ kind, binary: await this.binary(kind) })));
    return found.flatMap(({ kind, binary }) =>
      binary ? [{ kind, path: binary.shownPath, version: binary.version }] : [],
    );
  }

  /**
   * Looked up afresh on every call (a few lstat calls), so a VMM installed, removed or replaced
   * since the last call is seen; only its version is remembered, per file identity.
   */
  private async binary(kind: VmmKind): Promise<Binary | undefined> {
    if (kind === 'cloud-hypervisor') {
      const release = this.overrides.stateDir
        ? await readInstalledRelease(this.overrides.stateDir, this.overrides.releasePin, { checkDigests: false })
        : undefined;
      const firmware = release?.firmware ?? (await this.systemFirmware());
      if (this.overrides.cloudHypervisorBinary) {
        const path = this.overrides.cloudHypervisorBinary;
        return { path, shownPath: path, version: await this.version(path, path), firmware };
      }
      // The release hearthd installed is preferred to one found in the system directories.
      if (release) {
        const { identity } = await verifyExecutable(REAL_ROOT, release.binary);
        const version = await this.version(release.binary, `${release.binary}\0${identity}`);
        return { path: release.binary, shownPath: release.binary, version, firmware };
      }
      const lookup = await findExecutable(this.host, 'cloud-hypervisor');
      if (!lookup.found) return undefined;
      const { hostPath, path, identity } = lookup.executable;
      return {
        path: hostPath,
        shownPath: path,
        version: await this.version(hostPath, `${hostPath}\0${identity}`),
        firmware,
      };
    }
    const lookup = await findExecutable(this.host, 'qemu-system-x86_64');
    if (!lookup.found) return undefined;
    const { hostPath, path, identity } = lookup.executable;
    return { path: hostPath, shownPath: path, version: await this.version(hostPath, `${hostPath}\0${identity}`) };
  }

  /** A firmware file the machine's packages or an administrator put in the system places. */
  private async systemFirmware(): Promise<string | undefined> {
    for (const path of FIRMWARE_PATHS) {
      const stats = await this.host.stat(path);
      if (stats?.isFile()) return this.host.resolve(path);
    }
    return undefined;
  }

  private version(hostPath: string, key: string): Promise<string> {
    let found = this.versions.get(key);
    if (!found) {
      found = readVersion({ hostPath }).then((v) => v ?? 'unknown');
      this.versions.set(key, found);
      // Failures are not remembered; nor is any number of replaced binaries.
      void found.catch(() => this.versions.delete(key));
      if (this.versions.size > 16) this.versions.delete(this.versions.keys().next().value!);
    }
    return found;
  }

  /** Checked again right before each VMM start (see launchDetached): the file may have changed. */
  private verifier(binary: string): ((path: string) => Promise<void>) | undefined {
    if (binary === this.overrides.cloudHypervisorBinary) return undefined;
    // The installed release lives in the state directory, on the real machine even when the
    // facts are read below a test's --host-root.
    const host = this.overrides.stateDir && binary.startsWith(`${this.overrides.stateDir}/`) ? REAL_ROOT : this.host;
    return async (path) => {
      await verifyExecutable(host, path);
    };
  }

  /** The same decision the readiness report describes (accelerator.ts). */
  private async accel(setting: Settings['accel']): Promise<Accel> {
    return resolveAccel(setting, setting === 'auto' && (await this.kvmBootsGuests()));
  }

  /** The file names VMM processes run as (argv[0], or argv[1] under an interpreter). */
  async binaryNames(): Promise<string[]> {
    const found = await Promise.all(KINDS.map((kind) => this.binary(kind)));
    const names = ['qemu-system-x86_64', 'cloud-hypervisor', ...found.flatMap((b) => (b ? [basename(b.path)] : []))];
    return [...new Set(names)];
  }

  /** The driver new VMs start with, per the `hypervisor` and `accel` settings. */
  async forNewVm(settings: Settings): Promise<VmmDriver> {
    const wanted = settings.hypervisor;
    if (wanted === 'auto' || wanted === 'cloud-hypervisor') {
      const ch = await this.binary('cloud-hypervisor');
      if (ch && (wanted === 'cloud-hypervisor' || autoTakesCloudHypervisor(await this.kvmBootsGuests())))
        return new CloudHypervisorDriver(ch.path, ch.version, this.doubleEnv(), this.verifier(ch.path), ch.firmware);
      if (wanted === 'cloud-hypervisor')
        throw new DomainError(
          'unavailable',
          'The hypervisor setting is cloud-hypervisor but no cloud-hypervisor binary is installed',
          'install it (the readiness report has the command) or set hypervisor to auto or qemu',
        );
    }
    const qemu = await this.binary('qemu');
    if (!qemu)
      throw new DomainError(
        'unavailable',
        'No VMM is installed: install QEMU (qemu-system-x86) or Cloud Hypervisor',
        'the readiness report has the exact command for this machine',
      );
    return new QemuDriver(qemu.path, qemu.version, await this.accel(settings.accel), this.verifier(qemu.path));
  }

  /** A driver for a VM started earlier with `binary` (for reattaching and ownership checks). */
  forExisting(kind: VmmKind, binary: string, version: string, accel: 'kvm' | 'tcg'): VmmDriver {
    return kind === 'qemu'
      ? new QemuDriver(binary, version, accel, this.verifier(binary))
      : new CloudHypervisorDriver(binary, version, this.doubleEnv(), this.verifier(binary));
  }

  /**
   * With a test binary (the contract double), its settings pass through from hearthd's own
   * environment: PATH (it runs on node) and HEARTH_CH_DOUBLE_* (fault injection). Never otherwise.
   */
  private doubleEnv(): Record<string, string> {
    if (!this.overrides.cloudHypervisorBinary) return {};
    return Object.fromEntries(
      Object.entries(process.env).filter(
        (entry): entry is [string, string] =>
          entry[1] !== undefined && (entry[0] === 'PATH' || entry[0].startsWith('HEARTH_CH_DOUBLE_')),
      ),
    );
  }
}
