import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SshInclude } from '#protocol';
import { configPath, type SshPaths } from './paths.js';
import { writeAtomic } from './on-demand.js';

/**
 * The one line Hearth adds to the user's ~/.ssh/config, and only with their consent. It goes at
 * the very top: ssh applies an Include inside whatever Host or Match block precedes it, so one
 * placed after the user's entries would apply only to their last host. Nothing else in the file
 * is ever rewritten: adding puts two lines in front, removing takes exactly those two away.
 */

const MARKER = '# Added by Hearth: its environments as <name>.hearth (Settings → SSH removes it)';

export const includeLine = (paths: SshPaths): string => `Include ${configPath(paths.config)}`;

const BLOCK_START = /^\s*(host|match)(\s|=)/i;

async function readUserConfig(paths: SshPaths): Promise<string | null> {
  try {
    return await readFile(paths.userConfig, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Is our Include there, and does it apply to every host (before the first Host or Match)? */
export function includeState(text: string | null, line: string): SshInclude {
  if (text === null) return 'absent';
  let inBlock = false;
  let state: SshInclude = 'absent';
  for (const raw of text.split('\n')) {
    if (BLOCK_START.test(raw)) inBlock = true;
    if (raw.trim() === line) {
      if (!inBlock) return 'present';
      state = 'inert';
    }
  }
  return state;
}

export async function readIncludeState(paths: SshPaths): Promise<SshInclude> {
  return includeState(await readUserConfig(paths), includeLine(paths));
}

/**
 * Adds (or removes) the Include. Idempotent; a file that does not exist is created 0600 in a 0700
 * ~/.ssh, as ssh wants; an existing one keeps its mode and owner (write-file-atomic), and a
 * symbolic link (a dotfile manager's) is followed, not replaced.
 */
export async function setInclude(paths: SshPaths, enabled: boolean): Promise<SshInclude> {
  const line = includeLine(paths);
  const text = await readUserConfig(paths);
  const state = includeState(text, line);
  if (enabled) {
    if (state === 'present') return state;
    // An inert copy of the line is the user's to keep or delete; ours goes on top regardless.
    await mkdir(dirname(paths.userConfig), { recursive: true, mode: 0o700 });
    const rest = text ?? '';
    await writeAtomic(paths.userConfig, `${MARKER}\n${line}\n\n${rest}`, text === null ? { mode: 0o600 } : {});
    return 'present';
  }
  if (text === null) return 'absent';
  const lines = text.split('\n');
  let start = 0;
  if (lines[0] === MARKER) start = 1;
  if (lines[start] !== line) return state;
  // Only the lines we wrote, and the blank line we put after them.
  const end = lines[start + 1] === '' ? start + 2 : start + 1;
  await writeAtomic(paths.userConfig, lines.slice(end).join('\n'));
  return includeState(lines.slice(end).join('\n'), line);
}
