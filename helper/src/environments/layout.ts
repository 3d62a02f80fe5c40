import { join } from 'node:path';

/**
 * Where an environment's files live. Everything here is listed in docs/files.md; deleting an
 * environment removes exactly `stateDir` and `runtimeDir`.
 */
export interface EnvironmentLayout {
  /** `<state>/environments/<id>/` — persists across reboots. */
  stateDir: string;
  /** The record: spec (desired) and last observed status, written atomically. */
  record: string;
  /** qcow2 overlay backed by the image's base disk. */
  disk: string;
  /** Serial console, size-capped; the previous part is `console.log.1`. */
  console: string;
  consoleRotated: string;
  /** What hearthd did to this environment, one JSON object a line; previous part `events.log.1`. */
  events: string;
  eventsRotated: string;
  /** The VMM's own stdout and stderr (its error messages), appended per launch; capped like the console. */
  vmmLog: string;
  vmmLogRotated: string;
  /** `<runtime>/vms/<id>/` — gone on reboot, as the VMs are. */
  runtimeDir: string;
  /** The VMM's pid and start time (JSON), written by hearthd right after launch. */
  pidFile: string;
}

export function layoutOf(stateRoot: string, runtimeRoot: string, id: string): EnvironmentLayout {
  const stateDir = join(stateRoot, 'environments', id);
  const runtimeDir = join(runtimeRoot, 'vms', id);
  return {
    stateDir,
    record: join(stateDir, 'environment.json'),
    disk: join(stateDir, 'disk.qcow2'),
    console: join(stateDir, 'console.log'),
    consoleRotated: join(stateDir, 'console.log.1'),
    events: join(stateDir, 'events.log'),
    eventsRotated: join(stateDir, 'events.log.1'),
    vmmLog: join(stateDir, 'vmm.log'),
    vmmLogRotated: join(stateDir, 'vmm.log.1'),
    runtimeDir,
    pidFile: join(runtimeDir, 'vmm.pid'),
  };
}
