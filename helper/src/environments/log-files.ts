import { watch, type FSWatcher } from 'node:fs';
import { copyFile, open, readFile, stat, truncate } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
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
 * Calls `onText` with whatever is appended to `file` after `offset`, until the returned function
 * is called. Woken by inotify (fs.watch) as soon as the VMM writes; a slow poll backs it up for
 * the moments no watch can be held (the file does not exist yet, or was replaced). Text is
 * decoded across reads, so a character split between two writes arrives whole.
 */
export function followFile(file: string, offset: number, onText: (text: string) => void, pollMs = 250): () => void {
  let position = offset;
  let stopped = false;
  let reading = false;
  let wokenWhileReading = false;
  let watcher: FSWatcher | undefined;
  const decoder = new StringDecoder('utf8');
  // Read through functions: these change while a read awaits, which narrowing cannot see.
  const halted = () => stopped;
  const wokenAgain = () => wokenWhileReading;

  const ensureWatch = () => {
    if (watcher || stopped) return;
    try {
      watcher = watch(file, { persistent: false }, () => void read());
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      // Not there yet: the poll tries again.
    }
  };

  const readAppended = async () => {
    const handle = await open(file, 'r');
    try {
      for (;;) {
        const { size } = await handle.stat();
        if (size < position) position = 0; // truncated by rotation
        if (size <= position || stopped) return;
        const buffer = Buffer.alloc(Math.min(size - position, 1024 * 1024));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) return;
        position += bytesRead;
        const text = decoder.write(buffer.subarray(0, bytesRead));
        if (text && !halted()) onText(text);
      }
    } finally {
      await handle.close();
    }
  };

  const read = async () => {
    if (stopped) return;
    if (reading) {
      wokenWhileReading = true;
      return;
    }
    reading = true;
    try {
      do {
        wokenWhileReading = false;
        ensureWatch();
        await readAppended().catch((error: unknown) => {
          if (!isMissing(error)) throw error;
        });
      } while (wokenAgain() && !halted());
    } catch {
      // Unreadable for now: the next wake-up or poll tries again.
    } finally {
      reading = false;
    }
  };

  const timer = setInterval(() => void read(), pollMs);
  void read();
  return () => {
    stopped = true;
    clearInterval(timer);
    watcher?.close();
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
