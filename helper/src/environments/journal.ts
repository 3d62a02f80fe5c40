import { appendFile } from 'node:fs/promises';
import type { EnvironmentLogEntry } from '#protocol';
import { isMissing } from '../system/host-root.js';
import { environmentLog, type Logger } from '../log.js';
import type { EnvironmentLayout } from './layout.js';
import { rotateIfLarge } from './log-files.js';
import type { Spec } from './record.js';

/** hearthd's own account of what it did to an environment (`events.log`, one JSON object a line). */
export async function journal(
  log: Logger,
  spec: Pick<Spec, 'id' | 'name' | 'owner'>,
  layout: EnvironmentLayout,
  event: string,
  message: string,
): Promise<void> {
  const line: EnvironmentLogEntry = { time: new Date().toISOString(), event, message };
  try {
    await rotateIfLarge(layout.events, layout.eventsRotated);
    await appendFile(layout.events, `${JSON.stringify(line)}\n`, { mode: 0o600 });
  } catch (error) {
    // The environment's directory is gone (deleted meanwhile): nothing left to tell.
    if (!isMissing(error)) throw error;
  }
  environmentLog(log, spec).info({ event }, message);
}
