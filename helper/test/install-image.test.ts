import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInstallImage } from './support/environments.js';
import { HEARTHD_BUNDLE } from './support/hearthd-process.js';
import { ensureTestGuest, type TestGuest } from './support/test-guest.js';

const run = promisify(execFile);

// `hearthd install-image` runs as root on files someone else may have prepared: these are the
// ways such a file could make it read something else, each tried against the real command and
// the real qemu-img.

const SECRET = Buffer.from('HEARTH-TEST-SECRET-'.repeat(4096));

let work: string;
let owner: string; // the files "a user" prepared
let secret: string; // a file only root reads, in a directory only root enters
let kernel: string;
let initrd: string;
let rawDisk: string;
let guest: TestGuest;

async function qemuImg(...args: string[]): Promise<string> {
  return (await run('qemu-img', args)).stdout;
}

async function info(file: string, format?: string): Promise<Record<string, unknown>> {
  const args = format ? ['-f', format] : [];
  return JSON.parse(await qemuImg('info', ...args, '--output=json', file)) as Record<string, unknown>;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** A fresh state directory per install, so every assertion sees only that install's effects. */
async function install(name: string, files: { kernel?: string; initrd?: string; disk: string }) {
  const stateDir = await mkdtemp(join(work, 'state-'));
  const args = ['--name', name, '--kernel', files.kernel ?? kernel, '--disk', files.disk];
  if (files.initrd) args.push('--initrd', files.initrd);
  const result = await runInstallImage(stateDir, args);
  return { ...result, stateDir, imageDir: join(stateDir, 'images', name) };
}

async function expectRefused(outcome: Awaited<ReturnType<typeof install>>, message: RegExp): Promise<void> {
  expect(outcome.stderr).toMatch(message);
  expect(outcome.exitCode).toBe(1);
  // Nothing installed, nothing staged, and no byte of the secret anywhere under the state dir.
  expect(await readdir(join(outcome.stateDir, 'images')).catch(() => [])).toEqual([]);
  for (const file of await filesUnder(outcome.stateDir))
    expect((await readFile(file)).includes(SECRET.subarray(0, 64)), file).toBe(false);
}

beforeAll(async () => {
  guest = await ensureTestGuest();
  work = await mkdtemp(join(tmpdir(), 'hearth-install-image-'));
  owner = join(work, 'owner');
  await mkdir(owner);
  await mkdir(join(work, 'root-only'), { mode: 0o700 });
  secret = join(work, 'root-only', 'secret');
  await writeFile(secret, SECRET, { mode: 0o600 });
  kernel = join(owner, 'vmlinuz');
  initrd = join(owner, 'initrd.img');
  await writeFile(kernel, randomBytes(64 * 1024));
  await writeFile(initrd, randomBytes(32 * 1024));
  rawDisk = join(owner, 'disk.raw');
  await qemuImg('convert', '-f', 'qcow2', '-O', 'raw', guest.baseDisk, rawDisk);
}, 600_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('hearthd install-image refuses disks that name other files', () => {
  it('refuses a qcow2 whose backing file is a secret, and never copies it', async () => {
    const disk = join(owner, 'backed.qcow2');
    await qemuImg('create', '-q', '-f', 'qcow2', '-b', secret, '-F', 'raw', disk);
    await expectRefused(
      await install('backed', { disk }),
      /has a backing file \(".*secret"\), which hearthd does not follow\. Flatten it first.*qemu-img convert -O qcow2/,
    );
  });

  it('refuses a qcow2 whose backing file is given as a json: description', async () => {
    const disk = join(owner, 'json-backed.qcow2');
    const backing = `json:${JSON.stringify({ driver: 'raw', file: { driver: 'file', filename: secret } })}`;
    await qemuImg('create', '-q', '-f', 'qcow2', '-b', backing, '-F', 'raw', disk, '1M');
    await expectRefused(await install('json-backed', { disk }), /has a backing file/);
  });

  it('refuses a qcow2 that keeps its data in an external data file', async () => {
    const disk = join(owner, 'external.qcow2');
    const data = join(work, 'root-only', 'data');
    await qemuImg('create', '-q', '-f', 'qcow2', '-o', `data_file=${data},data_file_raw=on`, disk, '1M');
    await writeFile(data, SECRET); // creating the image zeroed it; now the guest's disk "is" the secret
    await expectRefused(await install('external', { disk }), /external data file, which hearthd does not follow/);
  });

  it('refuses a file that starts like a qcow2 but is garbage', async () => {
    const badVersion = join(owner, 'garbage.qcow2');
    await writeFile(badVersion, Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), randomBytes(64 * 1024)]));
    await expectRefused(
      await install('garbage', { disk: badVersion }),
      /starts like a qcow2 image but is not a valid one/,
    );

    // A plausible version 3 header over zeros: only qemu-img itself can tell, and it says why.
    const zeros = Buffer.alloc(64 * 1024);
    Buffer.from('QFI\xfb\0\0\0\x03', 'latin1').copy(zeros);
    const badHeader = join(owner, 'zeros.qcow2');
    await writeFile(badHeader, zeros);
    await expectRefused(
      await install('zeros', { disk: badHeader }),
      /qemu-img cannot read \(as qcow2\) disk .*zeros\.qcow2: /,
    );

    // A backing-file offset past the end of the file is still a backing file.
    const farBacking = Buffer.from(zeros);
    farBacking.writeBigUInt64BE(1n << 63n, 8);
    const far = join(owner, 'far-backing.qcow2');
    await writeFile(far, farBacking);
    await expectRefused(await install('far', { disk: far }), /has a backing file, which hearthd does not follow/);
  });

  it('refuses other image formats instead of installing them as raw bytes', async () => {
    const vmdk = join(owner, 'disk.vmdk');
    await qemuImg('convert', '-f', 'raw', '-O', 'vmdk', rawDisk, vmdk);
    await expectRefused(
      await install('vmdk', { disk: vmdk }),
      /looks like a VMDK image; hearthd installs raw and qcow2/,
    );
  });
});

describe('hearthd install-image opens only regular files, without following links', () => {
  it.each(['kernel', 'initrd', 'disk'])('refuses a symlinked %s', async (which) => {
    const link = join(owner, `${which}-link`);
    await symlink(secret, link);
    await expectRefused(
      await install('linked', { kernel, initrd, disk: rawDisk, [which]: link }),
      new RegExp(`${which} .*${which}-link is a symbolic link; hearthd does not follow links: name the file itself`),
    );
  });

  it('refuses a file reached through a symlinked directory', async () => {
    await symlink(join(work, 'root-only'), join(owner, 'dir-link'));
    await expectRefused(
      await install('dir-linked', { disk: rawDisk, initrd: join(owner, 'dir-link', 'secret') }),
      /initrd .*dir-link\/secret is reached through a symbolic link; .*name .*root-only\/secret instead/,
    );
  });

  it('refuses a FIFO, a device and a directory without hanging on them', async () => {
    const fifo = join(owner, 'fifo');
    await run('mkfifo', [fifo]);
    await expectRefused(await install('fifo', { disk: rawDisk, initrd: fifo }), /initrd .*fifo is not a regular file/);
    await expectRefused(await install('device', { disk: '/dev/zero' }), /disk \/dev\/zero is not a regular file/);
    await expectRefused(await install('directory', { disk: owner }), /disk .*owner is not a regular file/);
  });
});

describe('hearthd install-image installs raw and qcow2 disks', () => {
  it('says what it accepts in --help', async () => {
    const { stdout } = await run(process.execPath, [HEARTHD_BUNDLE, 'install-image', '--help']);
    expect(stdout).toMatch(/hearthd install-image --state-dir DIR --name NAME --kernel FILE --disk FILE/);
    expect(stdout).toMatch(/no symbolic links.*\n.*backing file or an external data file is refused/);
  });

  async function expectInstalled(outcome: Awaited<ReturnType<typeof install>>, source: string, format: string) {
    expect(outcome.stderr).toBe('');
    expect(outcome.exitCode).toBe(0);
    const disk = join(outcome.imageDir, 'disk.qcow2');
    const produced = await info(disk);
    expect(produced.format).toBe('qcow2');
    expect(produced).not.toHaveProperty('backing-filename');
    expect((produced['format-specific'] as { data: object }).data).not.toHaveProperty('data-file');
    expect(produced['virtual-size']).toBe((await info(source, format))['virtual-size']);
    await qemuImg('compare', '-q', '-f', format, '-F', 'qcow2', source, disk);
    expect(await readFile(join(outcome.imageDir, 'vmlinuz'))).toEqual(await readFile(kernel));
    expect(await readFile(join(outcome.imageDir, 'initrd.img'))).toEqual(await readFile(initrd));
    // The VMM user reads these; nothing else is left beside them (no copy of the input).
    expect(((await stat(outcome.imageDir)).mode & 0o7777).toString(8)).toBe('755');
    expect((await readdir(outcome.imageDir)).sort()).toEqual(['disk.qcow2', 'initrd.img', 'manifest.json', 'vmlinuz']);
    for (const file of await filesUnder(outcome.imageDir)) {
      const stats = await stat(file);
      expect((stats.mode & 0o7777).toString(8), file).toBe('644');
      if (process.getuid?.() === 0) expect(stats.uid, file).toBe(0);
    }
  }

  it('installs the test guest qcow2 base disk as a standalone copy', async () => {
    const outcome = await install('qcow2', { disk: guest.baseDisk, initrd });
    await expectInstalled(outcome, guest.baseDisk, 'qcow2');
  });

  it('installs a raw disk as raw (-f raw): a raw disk whose first bytes another driver would probe stays raw', async () => {
    await expectInstalled(await install('raw', { disk: rawDisk, initrd }), rawDisk, 'raw');
    // qemu's cloop driver claims a file that starts with this line; probing would misread it.
    const cloopish = join(owner, 'cloopish.raw');
    const bytes = await readFile(rawDisk);
    Buffer.from('#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n').copy(bytes);
    await writeFile(cloopish, bytes);
    await expect(info(cloopish), 'probing, qemu-img misreads it').rejects.toThrow(/block_size cannot be zero/);
    await expectInstalled(await install('cloopish', { disk: cloopish, initrd }), cloopish, 'raw');
  });

  it('installs random bytes as a raw disk, byte for byte', async () => {
    const noise = join(owner, 'noise.raw');
    await writeFile(noise, randomBytes(1024 * 1024));
    await expectInstalled(await install('noise', { disk: noise, initrd }), noise, 'raw');
  });

  it('keeps the installed image when a reinstall is refused', async () => {
    const stateDir = await mkdtemp(join(work, 'state-'));
    const args = ['--name', 'keep', '--kernel', kernel, '--initrd', initrd];
    expect((await runInstallImage(stateDir, [...args, '--disk', rawDisk])).exitCode).toBe(0);
    const manifest = await readFile(join(stateDir, 'images', 'keep', 'manifest.json'), 'utf8');
    const disk = join(owner, 'keep-backed.qcow2');
    await qemuImg('create', '-q', '-f', 'qcow2', '-b', secret, '-F', 'raw', disk);
    const refused = await runInstallImage(stateDir, [...args, '--disk', disk]);
    expect(refused.exitCode).toBe(1);
    expect(await readdir(join(stateDir, 'images'))).toEqual(['keep']);
    expect(await readFile(join(stateDir, 'images', 'keep', 'manifest.json'), 'utf8')).toBe(manifest);
  });
});
