import { describe, expect, it } from 'vitest';
import type { ConfigView, Environment, EnvironmentClass, HostReport } from '#protocol';
import { classFit, memoryBudget } from '../../src/features/environments/admission.js';

const MiB = 1024 ** 2;
const GiB = 1024 * MiB;

const host = (totalGiB: number, freeDiskGiB = 100) =>
  ({
    capacity: { memoryTotalBytes: totalGiB * GiB, runnerReserveBytes: 100 * MiB },
    disk: { freeBytes: freeDiskGiB * GiB },
  }) as unknown as HostReport;
const config = (maxEnvironments = 10) =>
  ({ settings: { maxEnvironments, reservedHostMemoryMiB: 1024 } }) as unknown as ConfigView;
const env = (state: Environment['state'], memoryMiB: number) =>
  ({ id: `env-${state}${memoryMiB}`, state, resources: { cpus: 1, memoryMiB, diskGiB: 2 } }) as unknown as Environment;
const cls = (memoryMiB: number, diskGiB = 2): EnvironmentClass => ({
  name: 'c',
  description: '',
  cpus: 1,
  memoryMiB,
  diskGiB,
});

describe('admission forecast', () => {
  it('counts the class memory and overhead of active environments only', () => {
    const budget = memoryBudget([env('running', 2048), env('stopped', 4096), env('starting', 1024)], config(), host(8));
    expect(budget.committed).toBe(2048 * MiB + 1024 * MiB + 2 * 100 * MiB);
    expect(budget.admissible).toBe(7 * GiB);
  });

  it('says a class fits, and what it leaves', () => {
    const fit = classFit(cls(2048), [], config(), host(8));
    expect(fit).toEqual({ fits: true, note: expect.stringMatching(/^fits now: leaves /) });
  });

  it('names the memory shortfall', () => {
    const fit = classFit(cls(4096), [env('running', 2048)], config(), host(8));
    // 7 GiB admissible − 2148 MiB committed = 5020 MiB left; 4196 MiB needed: fits.
    expect(fit.fits).toBe(true);
    const tight = classFit(cls(6144), [env('running', 2048)], config(), host(8));
    expect(tight).toEqual({ fits: false, why: expect.stringContaining('short by') });
  });

  it('refuses when every slot runs, and when the disk is larger than the free space', () => {
    expect(classFit(cls(128), [env('running', 128)], config(1), host(8))).toEqual({
      fits: false,
      why: '1 of at most 1 are running; stop one first',
    });
    expect(classFit(cls(128, 500), [], config(), host(8, 100))).toEqual({
      fits: false,
      why: expect.stringContaining('disk is more than'),
    });
  });

  it('forecasts nothing until the report and the settings are known', () => {
    expect(classFit(cls(128), [], undefined, host(8))).toEqual({ fits: undefined });
    expect(classFit(cls(128), [], config(), undefined)).toEqual({ fits: undefined });
  });
});
