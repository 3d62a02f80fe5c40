import { mkdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { SaveLogRequest, SaveLogResult } from '#protocol';
import { IpcFailure } from './ipc-router.js';

/** Where a log goes: the user's pick (a path), or undefined when they cancelled. */
export type ChooseSavePath = (suggestedName: string) => Promise<string | undefined>;

/**
 * Writes a log the window sent to the path the chooser gave: atomically (a temporary file
 * renamed into place), so a crash never leaves half a log under the user's name.
 */
export async function saveLog(request: SaveLogRequest, choose: ChooseSavePath): Promise<SaveLogResult> {
  // The schema allows a bare name only; basename again so no future caller can smuggle a path.
  const path = await choose(basename(request.suggestedName));
  if (path === undefined) return { cancelled: true };
  try {
    await writeFileAtomic(path, request.text, { mode: 0o644 });
  } catch (error) {
    throw new IpcFailure('failed', `Could not save the log to ${path}: ${(error as Error).message}`);
  }
  return { path };
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * Browser mode has no dialog: logs go into one directory (dev:web's --save-dir, default
 * ~/Downloads), never overwriting: "name.log", then "name-1.log", "name-2.log"…
 */
export function saveIntoDirectory(dir: string): ChooseSavePath {
  return async (name) => {
    await mkdir(dir, { recursive: true });
    const ext = extname(name);
    const stem = name.slice(0, name.length - ext.length);
    for (let n = 0; n < 1000; n += 1) {
      const candidate = join(dir, n === 0 ? name : `${stem}-${n}${ext}`);
      if (!(await exists(candidate))) return candidate;
    }
    throw new IpcFailure('failed', `${dir} already holds 1000 logs named ${name}; clear some out.`);
  };
}
