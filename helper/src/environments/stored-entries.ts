import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { Entry } from './entry.js';
import { layoutOf } from './layout.js';
import { loadRecord, saveRecord } from './record.js';
import { killStrays } from './vmm-identity.js';

/**
 * Every environment hearthd has a record of, read from `<state>/environments/`. What a crash left
 * half-made is settled here: a directory without a record (an interrupted create, promised to no
 * one) goes, with any VMM started from it; an invalid record is left alone for a person to see.
 */
export async function loadStoredEntries(o: {
  stateDir: string;
  runtimeDir: string;
  vmmBinaryNames: () => Promise<string[]>;
  log: Logger;
}): Promise<Entry[]> {
  const entries: Entry[] = [];
  for (const id of await readdir(join(o.stateDir, 'environments'))) {
    if (!/^env-[0-9a-f]{12}$/.test(id)) continue;
    const layout = layoutOf(o.stateDir, o.runtimeDir, id);
    const loaded = await loadRecord(layout.record);
    if (loaded.kind === 'missing') {
      o.log.warn({ env: id }, 'removing an environment directory without a record (interrupted create)');
      await killStrays(layout.stateDir, await o.vmmBinaryNames(), o.log);
      await rm(layout.stateDir, { recursive: true, force: true });
      await rm(layout.runtimeDir, { recursive: true, force: true });
      continue;
    }
    if (loaded.kind === 'invalid') {
      o.log.error({ env: id, file: layout.record }, 'environment record is invalid; leaving it alone');
      continue;
    }
    entries.push(new Entry(loaded.record, layout));
    if (loaded.migrated) await saveRecord(layout.record, loaded.record);
  }
  return entries;
}
