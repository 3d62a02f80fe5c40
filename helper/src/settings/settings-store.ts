import { readFile, rename } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import writeFileAtomic from 'write-file-atomic';
import { Settings, type ConfigView, type SettingsPatch } from '#protocol';
import { isMissing } from '../system/host-root.js';
import type { Logger } from '../log.js';

export const DEFAULT_SETTINGS: Settings = {
  hypervisor: 'auto',
  accel: 'auto',
  heartbeatSeconds: 15,
  readinessIntervalSeconds: 60,
  maxEnvironments: 10,
  maxEnvironmentsPerOwner: 5,
  minimumMemoryMiB: 2048,
  reservedHostMemoryMiB: 1024,
  bootTimeoutSeconds: 300,
  provisionTimeoutSeconds: 900,
  stopTimeoutSeconds: 60,
  // Private, and outside what Docker (172.17/16…), Podman (10.88/16) and libvirt (192.168.122/24) take.
  networkSubnet: '10.131.0.0/24',
};

const StoredSettings = Type.Partial(Settings);

/**
 * hearthd's settings: defaults, then the settings file, then command-line flags (which win for
 * this run only). The file is written atomically; a file that cannot be read as settings is kept
 * aside (never deleted) and defaults are used.
 */
export class SettingsStore {
  private constructor(
    private readonly file: string,
    private stored: Partial<Settings>,
    private readonly flags: Partial<Settings>,
  ) {}

  static async open(file: string, flags: Partial<Settings>, log: Logger): Promise<SettingsStore> {
    let stored: Partial<Settings> = {};
    try {
      const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
      if (!Value.Check(StoredSettings, parsed)) {
        const first = [...Value.Errors(StoredSettings, parsed)][0];
        throw new Error(`${first?.path || '/'} ${first?.message ?? 'is invalid'}`);
      }
      stored = parsed;
    } catch (error) {
      if (!isMissing(error)) {
        const aside = `${file}.invalid-${Date.now()}`;
        await rename(file, aside);
        log.error(
          { file, keptAs: aside, reason: (error as Error).message },
          'settings file is invalid; using defaults',
        );
      }
    }
    return new SettingsStore(file, stored, flags);
  }

  get effective(): Settings {
    return { ...DEFAULT_SETTINGS, ...this.stored, ...this.flags };
  }

  view(): ConfigView {
    return { settings: this.effective, overriddenByFlags: Object.keys(this.flags) as ConfigView['overriddenByFlags'] };
  }

  async update(patch: SettingsPatch): Promise<ConfigView> {
    const next = { ...this.stored, ...patch };
    await writeFileAtomic(this.file, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o644 });
    this.stored = next;
    return this.view();
  }
}
