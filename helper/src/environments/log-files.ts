import { constants } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { openRegular, UnsafeFileError } from '../system/safe-read.js';
import { isMissing } from '../system/host-root.js';
import { fileFollowers, MAX_BEHIND_BYTES, type Following, type OnText, type Skip } from './file-follower.js';

/** Console and event logs are capped at this size; one older part is kept beside them (`.1`). */
export const LOG_MAX_BYTES = 2 * 1024 * 1024;

/** Longer lines (a VMM may write one without end) are cut here when read for people. */
export const MAX_LINE_CHARS = 16 * 1024;

/** `line` cut to MAX_LINE_CHARS, marked with an ellipsis when cut. */
export function cutLine(line: string): string {
  return line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
}

/**
 * Rotates `file` when it grew past `maxBytes`: keeps its last `maxBytes` (from a line start) as
 * `rotated` and truncates it in place. Copy-and-truncate (not rename) because the VMM keeps the
 * console file open in append mode; its next write lands at the new, empty end. Only the tail is
 * copied: a VMM can make its file endless (write without pause, or extend it sparsely to a TiB),
 * and root must not copy all of that. Never through a link, never blocking on a FIFO.
 */
export async function rotateIfLarge(file: string, rotated: string, maxBytes = LOG_MAX_BYTES): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UnsafeFileError(`${file} is not a regular file; hearthd does not rotate it`);
    if (info.size <= maxBytes) return false;
    const buffer = Buffer.alloc(maxBytes);
    const { bytesRead } = await handle.read(buffer, 0, maxBytes, info.size - maxBytes);
    let kept = buffer.subarray(0, bytesRead);
    const lineStart = kept.indexOf(0x0a);
    if (lineStart >= 0) kept = kept.subarray(lineStart + 1);
    const out = await open(
      rotated,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      0o600,
    );
    try {
      await out.write(kept);
    } finally {
      await out.close();
    }
    // Between a follower's reads, so it is told exactly what it had not read (file-follower.ts).
    await fileFollowers.truncate(file, info.size, () => handle.truncate(0));
    return true;
  } finally {
    await handle.close();
  }
}

/**
 * Console output for people: colours stay (SGR, `ESC[…m`; the GUI renders them), everything else
 * a terminal would act on goes: other CSI sequences (cursor moves, clears, modes), OSC strings
 * (window titles, hyperlinks; ended by BEL or ST), other escapes (`ESC c` reset, charset
 * selection), carriage returns and NULs.
 */
export function cleanConsoleText(text: string): string {
  // Most console text has none: skipping the replace keeps a 1 MiB burst cheap.
  // eslint-disable-next-line no-control-regex
  if (!/[\x1b\r\0]/.test(text)) return text;
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /\x1b\[[0-?]*[ -/]*(?:[@-l]|[n-~])|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|\x1b(?![[\]])[ -/]*[0-~]|[\r\0]/g,
    '',
  );
}

const MIB = 1024 * 1024;

/** The line a follower gets where it lost lines, so a gap is never silent. */
export function skippedMarker({ why, bytes }: Skip): string {
  const size = bytes === undefined ? 'lines' : bytes >= MIB ? `${(bytes / MIB).toFixed(1)} MiB` : `${bytes} bytes`;
  const reason =
    why === 'behind'
      ? `this follow fell more than ${MAX_BEHIND_BYTES / MIB} MiB behind`
      : why === 'rotated'
        ? 'the log was rotated before this follow read them (the last 2 MiB are in the .1 file)'
        : 'the file was truncated';
  return `[hearthd: ${size} skipped: ${reason}]`;
}

/** The last `count` lines of `file` (and of its rotated part when needed). */
export async function tailLines(file: string, rotated: string, count: number, clean = false): Promise<string[]> {
  if (count === 0) return [];
  const read = async (path: string) => {
    try {
      const handle = await openRegular(path);
      if (!handle) return '';
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
    return lines.map(cutLine);
  };
  let lines = split(await read(file));
  if (lines.length < count) lines = [...split(await read(rotated)), ...lines];
  return lines.slice(-count);
}

/**
 * Calls `onText` with whatever is appended to `file` after `offset`, until the returned function
 * is called. Woken by inotify as soon as the VMM writes; text is decoded across reads, so a
 * character split between two writes arrives whole. However many follow one file, it has one
 * watch and one reader (file-follower.ts). `onText` returning false pauses this follow until
 * `resume()`.
 */
export function followFile(file: string, offset: number, onText: OnText): Following {
  return fileFollowers.follow(file, offset, onText);
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
