import { execFileSync } from 'node:child_process';
import { mkdir, open, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRegular, readBounded, readTail, regularFileSize, UnsafeFileError } from '../src/system/safe-read.js';
import { scratch } from './support/records.js';

let root: Awaited<ReturnType<typeof scratch>>;
beforeEach(async () => {
  root = await scratch('hearth-safe-read-');
});
afterEach(() => root.done());

/** Things a VMM user could leave where hearthd expects a file, each made in the scratch dir. */
const UNSAFE: [string, (path: string) => Promise<void>][] = [
  [
    'a symlink to a regular file',
    async (path) => {
      await writeFile(`${path}.real`, 'secret');
      await symlink(`${path}.real`, path);
    },
  ],
  ['a symlink to /dev/zero', (path) => symlink('/dev/zero', path)],
  ['a symlink to a FIFO', async (path) => (execFileSync('mkfifo', [`${path}.fifo`]), symlink(`${path}.fifo`, path))],
  ['a FIFO nobody writes to', (path) => Promise.resolve(void execFileSync('mkfifo', [path]))],
  ['a directory', (path) => mkdir(path).then(() => undefined)],
];

const READERS: [string, (path: string) => Promise<unknown>][] = [
  ['openRegular', (path) => openRegular(path).then((h) => h?.close())],
  ['readBounded', (path) => readBounded(path, 1024)],
  ['readTail', (path) => readTail(path, 1024)],
  ['regularFileSize', (path) => regularFileSize(path)],
];

describe.each(READERS)('%s', (_, read) => {
  it.each(UNSAFE)('refuses %s at once, with UnsafeFileError', async (_, make) => {
    const path = join(root.dir, 'file');
    await make(path);
    const started = Date.now();
    await expect(read(path)).rejects.toBeInstanceOf(UnsafeFileError);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses a character device (/dev/zero itself)', async () => {
    await expect(read('/dev/zero')).rejects.toThrow(/not a regular file/);
  });

  it('says a symlink is a symlink', async () => {
    const path = join(root.dir, 'link');
    await symlink('/etc/passwd', path);
    await expect(read(path)).rejects.toThrow(/symbolic link; hearthd does not follow it/);
  });

  it('finds nothing where there is nothing, or where a directory is missing', async () => {
    const missing = await read(join(root.dir, 'none'));
    const noDir = await read(join(root.dir, 'none', 'deeper'));
    const expected = read === READERS[3]![1] ? 0 : undefined;
    expect(missing).toBe(expected);
    expect(noDir).toBe(expected);
  });
});

describe('readBounded', () => {
  it('reads a small file whole and a large one only up to the bound', async () => {
    const path = join(root.dir, 'f');
    await writeFile(path, 'hello');
    expect(await readBounded(path, 1024)).toBe('hello');
    expect(await readBounded(path, 3)).toBe('hel');
    expect(await readBounded(path, 0)).toBe('');
  });

  it('returns at once for a sparse 8 GiB file', async () => {
    const path = join(root.dir, 'huge');
    await writeFile(path, 'start');
    await truncate(path, 8 * 1024 ** 3);
    const started = Date.now();
    expect(await readBounded(path, 5)).toBe('start');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('readTail', () => {
  it('reads a small file whole, uncut', async () => {
    const path = join(root.dir, 'f');
    await writeFile(path, 'one\ntwo\n');
    expect(await readTail(path, 1024)).toEqual({ text: 'one\ntwo\n', size: 8, cut: false });
    expect(await readTail(path, 4)).toEqual({ text: 'two\n', size: 8, cut: true });
  });

  it('returns at most N bytes of a 50 MB file, quickly', async () => {
    const path = join(root.dir, 'big');
    const handle = await open(path, 'w');
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    for (let i = 0; i < 50; i++) await handle.write(chunk);
    await handle.write('the end\n');
    await handle.close();
    const started = Date.now();
    const tail = await readTail(path, 4096);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(tail?.size).toBe(50 * 1024 * 1024 + 8);
    expect(tail?.cut).toBe(true);
    expect(Buffer.byteLength(tail!.text)).toBe(4096);
    expect(tail?.text.endsWith('xthe end\n')).toBe(true);
  });

  it('never starts inside a UTF-8 sequence, wherever the cut falls', async () => {
    const path = join(root.dir, 'utf8');
    // 1-, 2-, 3- and 4-byte sequences, so every cut position inside each kind is tried.
    const text = 'a€é😀b€😀éz';
    await writeFile(path, `${'x'.repeat(1000)}${text}`);
    const bytes = Buffer.byteLength(text);
    for (let n = 1; n <= bytes; n++) {
      const tail = await readTail(path, n);
      expect(tail?.text).not.toContain('\uFFFD');
      expect(Buffer.byteLength(tail!.text)).toBeLessThanOrEqual(n);
      // The longest whole-character suffix that fits: at most 3 bytes (a cut 4-byte sequence) short.
      expect(text.endsWith(tail!.text)).toBe(true);
      expect(n - Buffer.byteLength(tail!.text)).toBeLessThan(4);
    }
  });
});

describe('regularFileSize', () => {
  it('is the size of a regular file', async () => {
    const path = join(root.dir, 'f');
    await writeFile(path, '12345');
    expect(await regularFileSize(path)).toBe(5);
  });
});
