import type { ConfigView, Environment, EnvironmentClass, HostReport } from '#protocol';
import { formatBytes } from './format.js';
import { isActive } from './states.js';

const MiB = 1024 ** 2;

/**
 * Memory as hearthd's admission counts it (helper/src/environments/admission.ts): the class
 * memory of every active environment plus the runner's overhead each, against the host's total
 * memory less `reservedHostMemoryMiB`. Not MemAvailable: that already counts running VMs as used.
 */
export interface MemoryBudget {
  committed: number;
  overhead: number;
  total: number | undefined;
  reserved: number | undefined;
  /** undefined until both the host report and the settings are known. */
  admissible: number | undefined;
}

export function memoryBudget(
  environments: readonly Environment[],
  config: ConfigView | undefined,
  host: HostReport | undefined,
): MemoryBudget {
  const overhead = host?.capacity.runnerReserveBytes ?? 100 * MiB;
  const committed = environments
    .filter((e) => isActive(e.state))
    .reduce((sum, e) => sum + e.resources.memoryMiB * MiB + overhead, 0);
  const total = host?.capacity.memoryTotalBytes;
  const reserved = config ? config.settings.reservedHostMemoryMiB * MiB : undefined;
  const admissible = total !== undefined && reserved !== undefined ? Math.max(0, total - reserved) : undefined;
  return { committed, overhead, total, reserved, admissible };
}

export type ClassFit = { fits: true; note: string } | { fits: false; why: string } | { fits: undefined };

/**
 * Whether an environment of this class could start now, and if not, why — the same sums hearthd
 * makes, so the form can say so before the user asks. hearthd still decides: this is a forecast.
 */
export function classFit(
  cls: EnvironmentClass,
  environments: readonly Environment[],
  config: ConfigView | undefined,
  host: HostReport | undefined,
): ClassFit {
  const budget = memoryBudget(environments, config, host);
  if (budget.admissible === undefined || !config || !host) return { fits: undefined };
  const running = environments.filter((e) => isActive(e.state)).length;
  if (running >= config.settings.maxEnvironments)
    return { fits: false, why: `${running} of at most ${config.settings.maxEnvironments} are running; stop one first` };
  const need = cls.memoryMiB * MiB + budget.overhead;
  const left = budget.admissible - budget.committed;
  if (need > left)
    return {
      fits: false,
      why: `needs ${formatBytes(need)} with overhead, ${formatBytes(Math.max(0, left))} is left (short by ${formatBytes(need - Math.max(0, left))})`,
    };
  const disk = cls.diskGiB * 1024 * MiB;
  if (disk > host.disk.freeBytes)
    return {
      fits: false,
      why: `its ${formatBytes(disk)} disk is more than the ${formatBytes(host.disk.freeBytes)} free`,
    };
  return { fits: true, note: `fits now: leaves ${formatBytes(left - need)} of memory for others` };
}
