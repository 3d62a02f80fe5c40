/**
 * A writer for the kernel's "newc" cpio format (the initramfs format), written here so device
 * nodes need no root and the archive is byte-for-byte reproducible (every mtime 0, every owner root).
 */

export interface CpioEntry {
  name: string;
  mode: number;
  data?: Buffer;
  /** Device number [major, minor] of a character device. */
  rdev?: [number, number];
}

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFCHR = 0o020000;

function cpioHeader(ino: number, entry: CpioEntry, size: number): Buffer {
  const [rdevMajor, rdevMinor] = entry.rdev ?? [0, 0];
  const nlink = (entry.mode & S_IFDIR) === S_IFDIR ? 2 : 1;
  const nameSize = Buffer.byteLength(entry.name) + 1;
  // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  const fields = [ino, entry.mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, nameSize, 0];
  return Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`, 'ascii');
}

/** The archive of `entries`, in order, closed by the format's trailer entry. */
export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let length = 0;
  const push = (part: Buffer) => {
    parts.push(part);
    length += part.length;
  };
  const align = () => push(Buffer.alloc((4 - (length % 4)) % 4));
  [...entries, { name: 'TRAILER!!!', mode: 0 }].forEach((entry, index) => {
    const data = entry.data ?? Buffer.alloc(0);
    push(cpioHeader(index + 1, entry, data.length));
    push(Buffer.from(`${entry.name}\0`));
    align();
    push(data);
    align();
  });
  return Buffer.concat(parts);
}
