import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { isMissing } from './host-root.js';

/**
 * How hearthd (root) opens anything another user could have touched, such as the files a VMM
 * writes: never through a symlink, never blocking on a FIFO or device (O_NONBLOCK), and only if
 * it is a regular file. Reads are bounded by the caller, so an endless file costs nothing.
 */
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export class UnsafeFileError extends Error {}

/** The opened regular file, or undefined when there is none; throws on a link, FIFO or device. */
export async function openRegular(file: string): Promise<FileHandle | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, FLAGS);
  } catch (error) {
    if (isMissing(error)) return undefined;
    if ((error as NodeJS.ErrnoException).code === 'ELOOP')
      throw new UnsafeFileError(`${file} is a symbolic link; hearthd does not follow it`);
    throw error;
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    throw new UnsafeFileError(`${file} is not a regular file; hearthd does not read it`);
  }
  return handle;
}

/** At most `maxBytes` from the start of `file`, as UTF-8; undefined when it does not exist. */
export async function readBounded(file: string, maxBytes: number): Promise<string | undefined> {
  const handle = await openRegular(file);
  if (!handle) return undefined;
  try {
    const buffer = Buffer.alloc(Math.min(maxBytes, (await handle.stat()).size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The last `maxBytes` of `file` (or less), the file's size, and whether the start was cut off. */
export async function readTail(
  file: string,
  maxBytes: number,
): Promise<{ text: string; size: number; cut: boolean } | undefined> {
  const handle = await openRegular(file);
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, size - length);
    let bytes = buffer.subarray(0, bytesRead);
    // A cut may land inside a UTF-8 sequence: drop its continuation bytes rather than print U+FFFD.
    if (size > length) while (bytes.length > 0 && (bytes[0]! & 0xc0) === 0x80) bytes = bytes.subarray(1);
    return { text: bytes.toString('utf8'), size, cut: size > length };
  } finally {
    await handle.close();
  }
}

/** Size of a regular file (0 when missing), without following a link. */
export async function regularFileSize(file: string): Promise<number> {
  const handle = await openRegular(file);
  if (!handle) return 0;
  try {
    return (await handle.stat()).size;
  } finally {
    await handle.close();
  }
}
