import type { Settings } from '#protocol';
import { DomainError } from '../errors.js';
import { admit, type Refusal } from './admission.js';

/** Memory the runner itself needs per environment, on top of the guest's. */
export const OVERHEAD_MIB = 100;

export interface AdmissionGateOptions {
  settings: () => Settings;
  hostMemoryMiB: () => Promise<number>;
  /** Memory (MiB) of every environment whose VMM is up or on its way. */
  activeMemoryMiB: () => number[];
}

/**
 * Whether one more VM may start now (admission.ts decides), asked under one lock: the check and
 * the move to `starting` happen together, so two starts cannot both pass on the same free memory.
 */
export class AdmissionGate {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: AdmissionGateOptions) {}

  /** Runs `fn` under the lock when `needed` (a start, a create), at once otherwise. */
  serially<T>(needed: boolean, fn: () => Promise<T>): Promise<T> {
    if (!needed) return fn();
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async refusal(memoryMiB: number): Promise<Refusal | undefined> {
    const settings = this.o.settings();
    return admit({
      running: this.o.activeMemoryMiB(),
      requestMiB: memoryMiB,
      maxEnvironments: settings.maxEnvironments,
      hostMemoryMiB: await this.o.hostMemoryMiB(),
      reservedMiB: settings.reservedHostMemoryMiB,
      overheadMiB: OVERHEAD_MIB,
    });
  }

  /** Throws the refusal as the API's `limit` error. */
  async check(memoryMiB: number): Promise<void> {
    const refusal = await this.refusal(memoryMiB);
    if (refusal) throw new DomainError('limit', refusal.message);
  }
}
