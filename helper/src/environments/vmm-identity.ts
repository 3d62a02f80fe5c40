import { basename } from 'node:path';
import { findProcesses, killProcess, processInfo } from '../system/process.js';
import type { Logger } from '../log.js';
import type { Runtime } from './record.js';

/**
 * Which process is an environment's VMM, decided from evidence each time: the record's pid and
 * start time (a pid alone may have been reused) and the command line the driver recognises.
 */
export async function isSameProcess(runtime: Pick<Runtime, 'pid' | 'startTime'>): Promise<boolean> {
  const info = await processInfo(runtime.pid);
  return info !== undefined && (runtime.startTime === 0 || info.startTime === runtime.startTime);
}

/**
 * Kills every VMM process (argv[0], or argv[1] under an interpreter, is one of `vmmNames`) whose
 * command line names a file in `stateDir` (drivers always put one there): a VMM a crash left
 * without a record is found this way. Anything else that mentions the directory (someone's
 * `tail -f` of a log) is left alone.
 */
export async function killStrays(stateDir: string, vmmNames: readonly string[], log: Logger): Promise<void> {
  for (const stray of await findProcesses(`${stateDir}/`)) {
    if (!stray.argv.slice(0, 2).some((arg) => vmmNames.includes(basename(arg)))) continue;
    log.warn({ pid: stray.pid, argv: stray.argv.slice(0, 3) }, 'killing a stray VMM');
    await killProcess(stray.pid);
  }
}
