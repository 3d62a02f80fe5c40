import { constants, type Stats } from 'node:fs';
import { lstat, open, readlink, realpath, rm, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';

/**
 * The files an administrator names for `hearthd install-image` may have been prepared by someone
 * else, and hearthd reads them as root. So every input is opened once, without following a
 * symbolic link anywhere in its path, and from then on only that descriptor is read (copies
 * stream from it; qemu-img gets it as /proc/self/fd/3): the file checked is the file used.
 */
export interface OpenedInput {
  what: string;
  path: string;
  handle: FileHandle;
  stats: Stats;
}

export class ImageInputError extends Error {}

async function realPathOrSelf(path: string): Promise<string> {
  return realpath(path).catch(() => path);
}

export async function openInput(what: string, path: string): Promise<OpenedInput> {
  const symlink = async () =>
    new ImageInputError(
      `${what} ${path} is a symbolic link; hearthd does not follow links: name the file itself (${await realPathOrSelf(path)})`,
    );
  // lstat first so that a device or FIFO is refused before it is ever opened (opening some
  // devices has side effects); the fstat after opening is what counts.
  const before = await lstat(path).catch((error: unknown) => {
    throw new ImageInputError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  });
  if (before.isSymbolicLink()) throw await symlink();
  if (!before.isFile()) throw new ImageInputError(`${what} ${path} is not a regular file`);
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw await symlink();
    throw new ImageInputError(`cannot open ${what} ${path}: ${(error as Error).message}`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new ImageInputError(`${what} ${path} is not a regular file`);
    if (stats.size === 0) throw new ImageInputError(`${what} ${path} is empty`);
    // O_NOFOLLOW covers the last component only; the kernel's name for what was opened shows
    // whether a linked directory on the way led somewhere else.
    const opened = await readlink(`/proc/self/fd/${handle.fd}`);
    if (opened !== path)
      throw new ImageInputError(
        `${what} ${path} is reached through a symbolic link; hearthd does not follow links: name ${opened} instead`,
      );
    return { what, path, handle, stats };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Copies an opened input into a new file (which must not exist) with `mode`, root-owned when
 * hearthd runs as root. Reads at most the size seen at open, so a file that keeps growing
 * cannot keep the copy going.
 */
export async function copyInput(input: OpenedInput, dest: string, mode: number): Promise<void> {
  const out = await open(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await settle(out, mode);
  } catch (error) {
    await out.close();
    throw error;
  }
  // The write stream closes `out`; the input stays open for the caller.
  await pipeline(
    input.handle.createReadStream({ start: 0, end: input.stats.size - 1, autoClose: false, emitClose: false }),
    out.createWriteStream(),
  );
}

/** Explicit owner and mode: never left to the umask (the service runs with UMask=0077). */
export async function settle(file: FileHandle, mode: number): Promise<void> {
  if (process.geteuid?.() === 0) await file.chown(0, 0);
  await file.chmod(mode);
}

export type DiskFormat = 'raw' | 'qcow2';

const QCOW_MAGIC = Buffer.from('QFI\xfb', 'latin1');
const INCOMPAT_DATA_FILE = 1n << 2n;

/**
 * Formats qemu would recognise besides qcow2. Installing one of them as raw bytes would give a
 * disk no guest can use, and letting qemu open them would follow what they reference (a VMDK
 * descriptor names its extents), so they are refused.
 */
const OTHER_FORMATS: ReadonlyArray<{ format: string; offset: number; magic: Buffer }> = [
  { format: 'VMDK', offset: 0, magic: Buffer.from('KDMV') },
  { format: 'VMDK', offset: 0, magic: Buffer.from('# Disk DescriptorFile') },
  { format: 'VDI', offset: 0x40, magic: Buffer.from([0x7f, 0x10, 0xda, 0xbe]) },
  { format: 'VHDX', offset: 0, magic: Buffer.from('vhdxfile') },
  { format: 'VHD', offset: 0, magic: Buffer.from('conectix') },
  { format: 'QED', offset: 0, magic: Buffer.from('QED\0') },
  { format: 'LUKS', offset: 0, magic: Buffer.from('LUKS\xba\xbe', 'latin1') },
  { format: 'Parallels', offset: 0, magic: Buffer.from('WithoutFreeSpace') },
  { format: 'Parallels', offset: 0, magic: Buffer.from('WithouFreSpacExt') },
  { format: 'Bochs', offset: 0, magic: Buffer.from('Bochs Virtual HD Image') },
];

function flatten(input: OpenedInput, why: string): ImageInputError {
  return new ImageInputError(
    `disk ${input.path} ${why}. Flatten it first, as the user who owns it, into a standalone image and install that: ` +
      `qemu-img convert -O qcow2 ${input.path} flat.qcow2`,
  );
}

async function readAt(input: OpenedInput, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await input.handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/**
 * Decides raw or qcow2 from the header alone — before qemu-img opens anything — and refuses a
 * qcow2 that names another file (a backing file or an external data file): root would read it.
 */
export async function detectDiskFormat(input: OpenedInput): Promise<DiskFormat> {
  const header = await readAt(input, 512, 0);
  if (!header.subarray(0, 4).equals(QCOW_MAGIC)) {
    const other = OTHER_FORMATS.find(({ offset, magic }) =>
      header.subarray(offset, offset + magic.length).equals(magic),
    );
    if (other)
      throw new ImageInputError(
        `disk ${input.path} looks like a ${other.format} image; hearthd installs raw and qcow2 disks only. ` +
          `Convert it first, as the user who owns it: qemu-img convert -O qcow2 ${input.path} disk.qcow2`,
      );
    return 'raw';
  }
  const invalid = (why: string) =>
    new ImageInputError(`disk ${input.path} starts like a qcow2 image but is not a valid one (${why})`);
  if (header.length < 72) throw invalid('truncated header');
  const version = header.readUInt32BE(4);
  if (version === 1) throw flatten(input, 'is a qcow (version 1) image, which hearthd does not install');
  if (version !== 2 && version !== 3) throw invalid(`unknown version ${version}`);
  const backingOffset = header.readBigUInt64BE(8);
  if (backingOffset !== 0n) {
    // The name is only for the message, and only when it lies inside the file.
    const length = Math.min(header.readUInt32BE(16), 1023);
    const name =
      backingOffset < BigInt(input.stats.size)
        ? ` (${JSON.stringify((await readAt(input, length, Number(backingOffset))).toString('utf8'))})`
        : '';
    throw flatten(input, `has a backing file${name}, which hearthd does not follow`);
  }
  if (version === 3) {
    if (header.length < 104) throw invalid('truncated header');
    if (header.readBigUInt64BE(72) & INCOMPAT_DATA_FILE)
      throw flatten(input, 'keeps its data in an external data file, which hearthd does not follow');
  }
  return 'qcow2';
}

const FD = '/proc/self/fd/3';

/**
 * qemu-img, reading the opened input as its fd 3; `-f` always, so qemu-img never probes. A
 * failure says what qemu-img said, about the administrator's path rather than the fd.
 */
async function qemuImgOnFd(qemuImg: string, input: OpenedInput, args: string[], timeout: number, what: string) {
  // execa's types admit only our fds 3–9 here; it hands any fd to node's spawn unchanged.
  const fd = input.handle.fd as 3;
  try {
    return await execa(qemuImg, args, { timeout, stdio: ['ignore', 'pipe', 'pipe', fd], env: { LC_ALL: 'C' } });
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    const said = typeof stderr === 'string' && stderr.trim() ? stderr.trim() : (error as Error).message;
    throw new ImageInputError(`qemu-img cannot ${what} disk ${input.path}: ${said.replaceAll(FD, input.path)}`);
  }
}

interface QemuImgInfo {
  format?: string;
  encrypted?: boolean;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'format-specific'?: { type?: string; data?: { 'data-file'?: string; corrupt?: boolean } };
}

/**
 * qemu-img's own view, as a second opinion on the header checks. Those already refused any
 * backing or data file, so qemu-img (which does not open backing files for `info` anyway)
 * opens nothing but fd 3.
 */
async function checkWithQemuImg(qemuImg: string, input: OpenedInput, format: DiskFormat): Promise<void> {
  const result = await qemuImgOnFd(
    qemuImg,
    input,
    ['info', '-f', format, '--output=json', FD],
    60_000,
    `read (as ${format})`,
  );
  const info = JSON.parse(result.stdout) as QemuImgInfo;
  const data = info['format-specific']?.data;
  if (info.format !== format) throw new ImageInputError(`qemu-img reads disk ${input.path} as ${info.format}`);
  if (info['backing-filename'] !== undefined || info['full-backing-filename'] !== undefined)
    throw flatten(input, 'has a backing file, which hearthd does not follow');
  if (data?.['data-file'] !== undefined)
    throw flatten(input, 'keeps its data in an external data file, which hearthd does not follow');
  if (info.encrypted) throw flatten(input, 'is encrypted, which hearthd does not install');
  if (data?.corrupt)
    throw new ImageInputError(
      `disk ${input.path} is marked corrupt; repair it first, as the user who owns it: qemu-img check -r all ${input.path}`,
    );
}

/**
 * Writes the disk as a standalone qcow2 at `dest`. A qcow2 input is first copied into a file
 * only root can write (next to `dest`, removed after), and checked and converted from that
 * copy: its owner could otherwise rewrite the header — add a backing file — between the
 * check and qemu-img's read. A raw input has no header qemu-img interprets, so it converts
 * straight from the opened file.
 */
export async function installDisk(
  qemuImg: string,
  input: OpenedInput,
  format: DiskFormat,
  dest: string,
  mode: number,
): Promise<void> {
  let source = input;
  const snapshot = `${dest}.input`;
  try {
    if (format === 'qcow2') {
      await copyInput(input, snapshot, 0o600);
      const handle = await open(snapshot, constants.O_RDONLY | constants.O_NOFOLLOW);
      source = { ...input, handle, stats: await handle.stat() };
      if ((await detectDiskFormat(source)) !== 'qcow2')
        throw new ImageInputError(`disk ${input.path} changed while it was being read; install it again`);
    }
    await checkWithQemuImg(qemuImg, source, format);
    await qemuImgOnFd(qemuImg, source, ['convert', '-f', format, '-O', 'qcow2', FD, dest], 600_000, 'convert');
    const out = await open(dest, constants.O_RDONLY | constants.O_NOFOLLOW);
    await settle(out, mode).finally(() => out.close());
  } finally {
    if (source !== input) await source.handle.close();
    await rm(snapshot, { force: true });
  }
}
