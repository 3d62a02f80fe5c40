import { constants } from 'node:fs';
import { open, rm, writeFile } from 'node:fs/promises';
import { readTail } from '../fs/safe-read.js';
import { isMissing } from '../host/host-root.js';
import { fileFollowers } from './file-follower.js';

/** Console and event logs are capped at this size; one older part is kept beside them (`.1`). */
export const LOG_MAX_BYTES = 2 * 1024 * 1024;

/**
 * Rotates `file` when it grew past `maxBytes`: its last `maxBytes` go to `rotated`, and it is
 * truncated in place. Copy-and-truncate (not rename) because the VMM keeps the console file open
 * in append mode; its next write lands at the new, empty end. The file may be the VMM user's, so
 * it is opened without following links or blocking, and only a bounded part of it is copied.
 */
export async function rotateIfLarge(file: string, rotated: string, maxBytes = LOG_MAX_BYTES): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size <= maxBytes) return false;
    const buffer = Buffer.alloc(maxBytes);
    const { bytesRead } = await handle.read(buffer, 0, maxBytes, info.size - maxBytes);
    // The kept part starts with a whole line: the cut one is dropped.
    const tail = buffer.subarray(0, bytesRead);
    const kept = tail.subarray(tail.indexOf(0x0a) + 1);
    await rm(rotated, { force: true });
    await writeFile(rotated, kept, { mode: 0o600, flag: 'wx' });
    await handle.truncate(0);
    return true;
  } finally {
    await handle.close();
  }
}

/** Decodes console output for people: drops terminal control sequences and carriage returns. */
export function cleanConsoleText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc|\r/g, '').replace(/\0/g, '');
}

/** The last `count` lines of `file` (and of its rotated part when needed). */
export async function tailLines(file: string, rotated: string, count: number, clean = false): Promise<string[]> {
  if (count === 0) return [];
  // Bounded, never through a link: a VMM may have written (or be writing) an endless file.
  const read = async (path: string) => (await readTail(path, LOG_MAX_BYTES + 64 * 1024))?.text ?? '';
  const split = (text: string) => {
    const lines = (clean ? cleanConsoleText(text) : text).split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines;
  };
  let lines = split(await read(file));
  if (lines.length < count) lines = [...split(await read(rotated)), ...lines];
  return lines.slice(-count);
}

/**
 * Calls `onText` with whatever is appended to `file` after `offset`, until the returned function
 * is called. Woken by inotify as soon as the VMM writes; text is decoded across reads, so a
 * character split between two writes arrives whole. However many follow one file, it has one
 * watch and one reader (file-follower.ts).
 */
export function followFile(file: string, offset: number, onText: (text: string) => void): () => void {
  return fileFollowers.follow(file, offset, onText);
}
