import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Settings, VmmKind } from '#protocol';
import { ApiError } from '../api/api-error.js';
import { findExecutable, readVersion } from '../host/executables.js';
import type { HostRoot } from '../host/host-root.js';
import { CloudHypervisorDriver } from './cloud-hypervisor/ch-driver.js';
import type { VmmDriver } from './driver.js';
import { QemuDriver } from './qemu/qemu-driver.js';

export interface VmmOverrides {
  /** Test-only: run this file as Cloud Hypervisor (the contract double). A CLI flag, never an API field. */
  cloudHypervisorBinary?: string | undefined;
}

interface Binary {
  path: string;
  version: string;
}

/** Finds the VMM binaries once per lookup and builds the driver the settings ask for. */
export class VmmRegistry {
  private readonly cache = new Map<VmmKind, Promise<Binary | undefined>>();

  constructor(
    private readonly host: HostRoot,
    private readonly overrides: VmmOverrides,
  ) {}

  private binary(kind: VmmKind): Promise<Binary | undefined> {
    let found = this.cache.get(kind);
    if (!found) {
      found = (async () => {
        if (kind === 'cloud-hypervisor' && this.overrides.cloudHypervisorBinary) {
          const path = this.overrides.cloudHypervisorBinary;
          return { path, version: (await readVersion({ path, hostPath: path })) ?? 'unknown' };
        }
        const lookup = await findExecutable(this.host, kind === 'qemu' ? 'qemu-system-x86_64' : 'cloud-hypervisor');
        if (!lookup.found) return undefined;
        return { path: lookup.executable.hostPath, version: (await readVersion(lookup.executable)) ?? 'unknown' };
      })();
      // Forget failures so installing a VMM later works without restarting hearthd.
      void found.then((b) => {
        if (!b) this.cache.delete(kind);
      });
      this.cache.set(kind, found);
    }
    return found;
  }

  private async accel(setting: Settings['accel']): Promise<'kvm' | 'tcg'> {
    if (setting !== 'auto') return setting;
    try {
      await access('/dev/kvm', constants.R_OK | constants.W_OK);
      return 'kvm';
    } catch {
      return 'tcg';
    }
  }

  /** The driver new VMs start with, per the `hypervisor` and `accel` settings. */
  async forNewVm(settings: Settings): Promise<VmmDriver> {
    const wanted = settings.hypervisor;
    if (wanted === 'auto' || wanted === 'cloud-hypervisor') {
      const ch = await this.binary('cloud-hypervisor');
      if (ch) return new CloudHypervisorDriver(ch.path, ch.version, this.doubleEnv());
      if (wanted === 'cloud-hypervisor')
        throw new ApiError(
          'unavailable',
          'The hypervisor setting is cloud-hypervisor but no cloud-hypervisor binary is installed; install it (see GET /v1/host) or set hypervisor to auto or qemu',
        );
    }
    const qemu = await this.binary('qemu');
    if (!qemu)
      throw new ApiError(
        'unavailable',
        'No VMM is installed: install QEMU (qemu-system-x86) or Cloud Hypervisor; GET /v1/host has the exact command',
      );
    return new QemuDriver(qemu.path, qemu.version, await this.accel(settings.accel));
  }

  /** A driver for a VM started earlier with `binary` (for reattaching and ownership checks). */
  forExisting(kind: VmmKind, binary: string, version: string, accel: 'kvm' | 'tcg'): VmmDriver {
    return kind === 'qemu'
      ? new QemuDriver(binary, version, accel)
      : new CloudHypervisorDriver(binary, version, this.doubleEnv());
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
