import type { ErrorCode } from '#protocol';

export interface AdmissionInput {
  /** Memory (MiB) of each environment whose VMM is up. */
  running: number[];
  requestMiB: number;
  maxEnvironments: number;
  hostMemoryMiB: number;
  reservedMiB: number;
  overheadMiB: number;
}

export interface Refusal {
  code: Extract<ErrorCode, 'conflict' | 'unprocessable'>;
  message: string;
}

/** The hard cap from the original runner: never more than this many at once, whatever the settings say. */
export const HARD_MAX_ENVIRONMENTS = 10;

/**
 * May one more environment run? At most `maxEnvironments` (≤ 10) at once, and the memory of all
 * running ones, each plus the runner's overhead, must fit in the host's memory less the reserve.
 * A refusal says which limit and by how much.
 */
export function admit(input: AdmissionInput): Refusal | undefined {
  const max = Math.min(input.maxEnvironments, HARD_MAX_ENVIRONMENTS);
  if (input.running.length >= max) {
    return {
      code: 'conflict',
      message: `${input.running.length} environments are already running and the limit is ${max} (setting maxEnvironments); stop one first`,
    };
  }
  const capacity = input.hostMemoryMiB - input.reservedMiB;
  const used = input.running.reduce((sum, m) => sum + m + input.overheadMiB, 0);
  const need = input.requestMiB + input.overheadMiB;
  if (used + need > capacity) {
    const free = Math.max(0, capacity - used);
    return {
      code: 'conflict',
      message:
        `Not enough memory: this environment needs ${need} MiB (${input.requestMiB} MiB + ${input.overheadMiB} MiB overhead) ` +
        `but only ${free} MiB of the ${Math.max(0, capacity)} MiB available to environments are free ` +
        `(host ${input.hostMemoryMiB} MiB less ${input.reservedMiB} MiB reserved; running environments use ${used} MiB) — ` +
        `short by ${need - free} MiB; stop an environment or use a smaller class`,
    };
  }
  return undefined;
}
