import { copyFile, open, readFile, stat, truncate } from 'node:fs/promises';
import { isMissing } from '../host/host-root.js';

/** Console and event logs are capped at this size; one older part is kept beside them (`.1`). */
export const LOG_MAX_BYTES = 2 * 1024 * 1024;

/**
 * Rotates `file` when it grew past `maxBytes`: copies it to `rotated` and truncates it in place.
 * Copy-and-truncate (not rename) because the VMM keeps the console file open in append mode;
 * its next write lands at the new, empty end.
 */
export async function rotateIfLarge(file: string, rotated: string, maxBytes = LOG_MAX_BYTES): Promise<boolean> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
  if (size <= maxBytes) return false;
  await copyFile(file, rotated);
  await truncate(file, 0);
  return true;
}

/** Decodes console output for people: drops terminal control sequences and carriage returns. */
export function cleanConsoleText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc|\r/g, '').replace(/\0/g, '');
}

/** The last `count` lines of `file` (and of its rotated part when needed). */
export async function tailLines(file: string, rotated: string, count: number, clean = false): Promise<string[]> {
  if (count === 0) return [];
  const read = async (path: string) => {
    try {
      const handle = await open(path, 'r');
      try {
        const { size } = await handle.stat();
        const length = Math.min(size, LOG_MAX_BYTES + 64 * 1024);
        const buffer = Buffer.alloc(length);
        await handle.read(buffer, 0, length, size - length);
        return buffer.toString('utf8');
      } finally {
        await handle.close();
      }
    } catch (error) {
      if (isMissing(error)) return '';
      throw error;
    }
  };
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
 * Follows `file` from `offset` like `tail -f`: calls `onText` with each new piece, notices
 * truncation (rotation), and stops when the returned function is called.
 */
export function followFile(file: string, offset: number, onText: (text: string) => void, intervalMs = 200): () => void {
  let position = offset;
  let busy = false;
  const state = { stopped: false };
  const timer = setInterval(() => {
    if (busy || state.stopped) return;
    busy = true;
    void (async () => {
      try {
        const handle = await open(file, 'r');
        try {
          const { size } = await handle.stat();
          if (size < position) position = 0; // rotated
          if (size > position) {
            const buffer = Buffer.alloc(Math.min(size - position, 1024 * 1024));
            const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
            position += bytesRead;
            if (!state.stopped) onText(buffer.subarray(0, bytesRead).toString('utf8'));
          }
        } finally {
          await handle.close();
        }
      } catch {
        // Missing for now (not yet written, or deleted): try again next tick.
      } finally {
        busy = false;
      }
    })();
  }, intervalMs);
  return () => {
    state.stopped = true;
    clearInterval(timer);
  };
}

export async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (error) {
    if (isMissing(error)) return 0;
    throw error;
  }
}

export async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (isMissing(error)) return '';
    throw error;
  }
}
