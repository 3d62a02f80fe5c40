import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogEntry, EnvironmentStats, ImageList } from '#protocol';
import { ensureMember, type Member } from '../../e2e/support/member-bridge.js';
import { CatalogSite, TestSigner } from '../../helper/test/support/catalog-site.js';
import { addTinyClass, installTestImage, TEST_IMAGE } from '../../helper/test/support/environments.js';
import { HearthdProcess, makePaths, type HearthdPaths } from '../../helper/test/support/hearthd-process.js';
import { NEEDS_ROOT, skipWhen } from '../../helper/test/support/skip.js';
import {
  CLI,
  expectValid,
  hearthAsMember,
  hearthAsRoot,
  underPty,
  untilOutput,
  untilStdout,
} from './support/run-cli.js';

const run = promisify(execFile);
/** The escape character colour codes start with. */
const ESC = String.fromCharCode(27);
const DEBIAN = {
  name: 'debian-12',
  sums: 'SHA512SUMS',
  sig: 'SHA512SUMS.sign',
  file: 'debian-12-genericcloud-amd64.qcow2',
};

/**
 * `hearth stats` on an environment that is not running (no VM boots: its figures are its disk
 * and configured memory, and --watch waits for samples until Ctrl-C), and `hearth images
 * download` for real: from a local image site whose checksum list is signed with a key made
 * here, with a bar on a pseudo-terminal and a line per phase in a pipe.
 */
describe('hearth stats and images download against a real hearthd', skipWhen(NEEDS_ROOT), () => {
  let work: string;
  let paths: HearthdPaths;
  let daemon: HearthdProcess;
  let site: CatalogSite;
  let member: Member;
  const cleanup: Array<() => Promise<unknown>> = [];
  const asRoot = (...args: string[]) => hearthAsRoot(paths.socket, args);

  beforeAll(async () => {
    member = await ensureMember();
    work = await mkdtemp(join(tmpdir(), 'hearth-cli-images-'));
    cleanup.push(() => rm(work, { recursive: true, force: true }));
    await chmod(work, 0o711);
    // The "cloud image": a small qcow2 of random data, listed in a signed SHA512SUMS.
    const signer = await TestSigner.create(join(work, 'publisher'), 'Hearth Test Images <images@test.invalid>');
    const keyring = join(work, 'keyring.gpg');
    await signer.exportKeyring(keyring);
    await writeFile(join(work, 'disk.raw'), randomBytes(4 * 1024 * 1024));
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', join(work, 'disk.raw'), join(work, 'disk.qcow2')]);
    const image = await readFile(join(work, 'disk.qcow2'));
    const sums = Buffer.from(`${createHash('sha512').update(image).digest('hex')}  ${DEBIAN.file}\n`);
    site = await CatalogSite.start();
    cleanup.push(() => site.close());
    site.put(`/${DEBIAN.name}/${DEBIAN.sums}`, sums);
    site.put(`/${DEBIAN.name}/${DEBIAN.sig}`, await signer.sign(sums));
    site.put(`/${DEBIAN.name}/${DEBIAN.file}`, image);

    paths = await makePaths('hearth-cli-images-');
    cleanup.push(() => rm(paths.dir, { recursive: true, force: true }));
    await installTestImage(paths);
    daemon = await HearthdProcess.start(paths, ['--catalog-base-url', site.baseUrl, '--test-catalog-keyring', keyring]);
    cleanup.push(() => daemon.dispose());
    const client = daemon.client();
    await addTinyClass(client);
    await client.call('createEnvironment', { body: { name: 'idle', class: 'tiny', image: TEST_IMAGE, start: false } });
  }, 600_000);
  afterAll(async () => {
    for (const undo of cleanup.reverse()) await undo().catch((e: unknown) => console.warn(`cleanup: ${String(e)}`));
  });

  describe('stats', () => {
    it("prints an environment's figures, and --json as EnvironmentStats", async () => {
      const result = await asRoot('stats', 'idle', '--json');
      expect(result.exitCode, result.stderr).toBe(0);
      const stats = JSON.parse(result.stdout) as EnvironmentStats;
      expectValid(EnvironmentStats, stats);
      expect(stats).toMatchObject({ name: 'idle', vmm: null, memory: { configuredBytes: 128 * 1024 * 1024 } });
      const text = await asRoot('stats', 'idle');
      expect(text.stdout).toMatch(/^idle +stopped/);
      expect(text.stdout).toMatch(/^ {2}CPU +-$/m);
      expect(text.stdout).toMatch(/^ {2}memory +- \/ 128 MiB$/m);
      expect(text.stdout).toMatch(/^ {2}disk +.+ allocated of 2\.0 GiB$/m);
    });

    it('--watch prints one line per sample into a pipe and ends with 0 on Ctrl-C', async () => {
      const watch = hearthAsRoot(paths.socket, ['stats', 'idle', '--watch']);
      const first = await untilStdout(watch, /\n/);
      expect(first).toMatch(/^\S+ idle stopped cpu=- memory=-\/128 MiB disk=.+\/2\.0 GiB\n$/);
      watch.kill('SIGINT');
      const result = await watch;
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
    });

    it('--watch --json prints one EnvironmentStats document per line', async () => {
      const watch = hearthAsRoot(paths.socket, ['stats', 'idle', '--watch', '--json']);
      const first = await untilStdout(watch, /\n/);
      expectValid(EnvironmentStats, JSON.parse(first));
      watch.kill('SIGINT');
      expect((await watch).exitCode).toBe(0);
    });

    it("says hearthd's words for an environment that is not there, or not the caller's (exit 1)", async () => {
      const missing = await asRoot('stats', 'nope');
      expect(missing.exitCode).toBe(1);
      expect(missing.stderr).toMatch(/^hearth: .*nope/);
      // root's environment is not the member's to see.
      const other = await hearthAsMember(member, paths.socket, ['stats', 'idle']);
      expect(other.exitCode).toBe(1);
      expect(other.stdout).toBe('');
    });
  });

  describe('images download', () => {
    it('downloads with a line per phase into a pipe, --json the catalog entry; rm gives the ImageList', async () => {
      const result = await asRoot('images', 'download', DEBIAN.name, '--json');
      expect(result.exitCode, result.stderr).toBe(0);
      const entry = JSON.parse(result.stdout) as CatalogEntry;
      expectValid(CatalogEntry, entry);
      expect(entry).toMatchObject({ name: DEBIAN.name, installed: true, download: { phase: 'installed' } });
      expect(result.stderr).not.toContain('\r');
      expect(result.stderr).not.toContain(ESC);
      const plain = await asRoot('images');
      expect(plain.stdout).toMatch(/^debian-12 +Debian 12.* catalog +firmware /m);
      const removed = await asRoot('images', 'rm', DEBIAN.name, '--json');
      expect(removed.exitCode, removed.stderr).toBe(0);
      const list = JSON.parse(removed.stdout) as ImageList;
      expectValid(ImageList, list);
      expect(list.images.map((i) => i.name)).toEqual([TEST_IMAGE]);

      const lines = await asRoot('images', 'download', DEBIAN.name);
      expect(lines.exitCode, lines.stderr).toBe(0);
      // A new download, not the one that ended before the image was removed.
      expect(lines.stderr.split('\n')[0]).toMatch(/^debian-12: (starting|resolving|downloading)/);
      expect(lines.stderr).toMatch(/^debian-12: downloading/m);
      expect(lines.stderr).toMatch(/^debian-12: verifying$/m);
      expect(lines.stderr).toMatch(/✓ debian-12 is installed/);
      expect(lines.stdout).toBe('');
      expect((await asRoot('images', 'rm', DEBIAN.name)).exitCode).toBe(0);
    });

    it('draws a progress bar on a terminal, in colour unless NO_COLOR', async () => {
      const argv = [process.execPath, CLI, 'images', 'download', DEBIAN.name, '--socket', paths.socket];
      const tty = await underPty(argv);
      expect(tty.exitCode, tty.stdout).toBe(0);
      // Redrawn in place (back to the first column: ESC[1G), filling up to 100%.
      expect(tty.stdout).toMatch(new RegExp(`${ESC}\\[1G${ESC}\\[36m\\[#*\\.*\\]${ESC}\\[39m \\d+%`));
      expect(tty.stdout).toMatch(new RegExp(`\\[#{30}\\]${ESC}\\[39m 100%`));
      expect((await asRoot('images', 'rm', DEBIAN.name)).exitCode).toBe(0);
      const plain = await underPty(argv, { NO_COLOR: '1' });
      expect(plain.exitCode, plain.stdout).toBe(0);
      expect(plain.stdout).toMatch(new RegExp(`${ESC}\\[1G\\[#*\\.*\\] \\d+%`));
      expect(plain.stdout).not.toMatch(new RegExp(`${ESC}\\[3\\dm`));
    });

    it("fails with hearthd's words when the image is already installed (exit 1)", async () => {
      const again = await asRoot('images', 'download', DEBIAN.name);
      expect(again.exitCode).toBe(1);
      expect(again.stderr).toMatch(/^hearth: Image "debian-12" is installed/m);
    });

    it('stops watching on Ctrl-C with 130 while hearthd carries on with the download', async () => {
      expect((await asRoot('images', 'rm', DEBIAN.name)).exitCode).toBe(0);
      site.stallAfter.set(`/${DEBIAN.name}/${DEBIAN.file}`, 1024 * 1024);
      const download = hearthAsRoot(paths.socket, ['images', 'download', DEBIAN.name]);
      await untilOutput(download, 'stderr', /^debian-12: downloading/m);
      download.kill('SIGINT');
      const result = await download;
      expect(result.exitCode).toBe(130);
      expect(result.stderr).toContain('hearthd carries on with debian-12');
      const entry = (await daemon.client().call('getCatalog')).entries.find((e) => e.name === DEBIAN.name);
      expect(entry?.download?.phase).toBe('downloading');
    });
  });
});
