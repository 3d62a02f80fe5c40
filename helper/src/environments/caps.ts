import { statfs } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { EnvironmentClass, Settings } from '#protocol';
import { DomainError } from '../errors.js';
import type { Caller } from '../caller.js';

/** Environments kept on this machine at most, running or not. */
export const MAX_STORED_ENVIRONMENTS = 64;

/**
 * Caps on how many environments exist, running or not: in all, and per owner (root exempt), so
 * that one member cannot take every slot. `owners`: the owner uid of each environment there is.
 */
export function checkCounts(owners: readonly (number | null)[], caller: Caller, settings: Settings): void {
  if (owners.length >= MAX_STORED_ENVIRONMENTS)
    throw new DomainError(
      'limit',
      `This machine already has ${owners.length} environments, the most it keeps (${MAX_STORED_ENVIRONMENTS}); delete one first`,
    );
  const cap = Math.min(settings.maxEnvironmentsPerOwner, MAX_STORED_ENVIRONMENTS);
  const own = owners.filter((uid) => uid === caller.uid).length;
  if (caller.uid !== 0 && own >= cap)
    throw new DomainError(
      'limit',
      `You already have ${own} environments and the limit per user is ${cap} (setting maxEnvironmentsPerOwner); delete one first`,
    );
}

/** Overlays grow as the guest writes: refuse a disk the state directory could never hold. */
export async function checkFreeSpace(stateDir: string, diskGiB: number): Promise<void> {
  const fs = await statfs(stateDir);
  const freeGiB = (fs.bavail * fs.bsize) / 1024 ** 3;
  if (diskGiB > freeGiB)
    throw new DomainError(
      'limit',
      `This environment's disk may grow to ${diskGiB} GiB but only ${freeGiB.toFixed(1)} GiB are free where hearthd keeps disks (${stateDir})`,
      'free some space or use a class with a smaller disk',
    );
}

/** A class must leave the memory floor and fit this machine's CPUs. */
export function checkClassFits(cls: Pick<EnvironmentClass, 'name' | 'cpus' | 'memoryMiB'>, settings: Settings): void {
  if (cls.memoryMiB < settings.minimumMemoryMiB)
    throw new DomainError(
      'invalid',
      `Class ${cls.name} has ${cls.memoryMiB} MiB of memory, below the minimum of ${settings.minimumMemoryMiB} MiB (setting minimumMemoryMiB) by ${settings.minimumMemoryMiB - cls.memoryMiB} MiB`,
    );
  const hostCpus = availableParallelism();
  if (cls.cpus > hostCpus)
    throw new DomainError(
      'invalid',
      `Class ${cls.name} has ${cls.cpus} vCPUs but this machine has ${hostCpus}; use at most ${hostCpus}`,
    );
}
