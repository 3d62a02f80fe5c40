import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_PATH, AGENT_SCRIPT, AGENT_UNIT, AGENT_UNIT_PATH } from '../src/guest/agent-script.js';
import {
  CLOUD_CFG,
  DEFAULT_MIRROR,
  IMAGE_CMDLINE,
  MASKED_UNITS,
  SECURITY_MIRROR,
  recipeFor,
  recipeKey,
} from '../src/images/local-build/recipe.js';
import { DEBIAN_IMAGE_CACHE, DEBIAN_IMAGE_NAME, installDebianImage, runBuildImage } from './support/debian-image.js';
import { HEARTHD_BUNDLE } from './support/hearthd-process.js';

// hearthd build-image as the installer deploys it: the bundle, run as root outside the sandbox.
// The first install builds the image on a cold cache (minutes) or imports the cached build; the
// disk is then read with debugfs, as a guest would see it.

const run = promisify(execFile);
const INSTALL_SCRIPT = join(import.meta.dirname, '..', '..', 'assets', 'linux', 'hearth-install.sh');
const BUILD_TIMEOUT = 30 * 60_000;

let work: string;
let stateDir: string;
let first: Awaited<ReturnType<typeof installDebianImage>>;
let raw: string;

/** debugfs on the raw copy of the image's disk; `-R` takes one request. */
async function debugfs(request: string): Promise<string> {
  const { stdout } = await run('debugfs', ['-R', request, raw], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

async function fileInDisk(path: string): Promise<Buffer> {
  const out = join(work, 'dumped');
  await rm(out, { force: true });
  await run('debugfs', ['-R', `dump ${path} ${out}`, raw]);
  return readFile(out);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'hearth-local-build-'));
  stateDir = join(work, 'state');
  first = await installDebianImage({ stateDir });
  raw = join(work, 'disk.raw');
  const disk = join(stateDir, 'images', DEBIAN_IMAGE_NAME, 'disk.qcow2');
  await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', disk, raw]);
}, BUILD_TIMEOUT);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('hearthd build-image', () => {
  it('reports every step with the installer protocol and ends imported', () => {
    const { lines } = first.run;
    const steps = lines.filter((l) => l.startsWith('::step ')).map((l) => l.split(' ')[1]);
    expect(steps).toEqual(['bootstrap', 'packages', 'agent', 'disk', 'import']);
    const results = lines.filter((l) => l.startsWith('::result ')).map((l) => l.split(' ').slice(1, 3).join(' '));
    const state = first.cached ? 'unchanged' : 'changed';
    expect(results).toEqual([
      `bootstrap ${state}`,
      `packages ${state}`,
      `agent ${state}`,
      `disk ${state}`,
      'import changed',
    ]);
    expect(lines.some((l) => l.startsWith('::fail'))).toBe(false);
    if (!first.cached) {
      // A cold build says how far its long steps are.
      for (const step of ['bootstrap', 'packages'])
        expect(lines.filter((l) => l.startsWith(`::progress ${step} `)).length).toBeGreaterThan(3);
    }
    process.stderr.write(`build-image ${first.cached ? 'cached' : 'cold'}: ${first.run.seconds} s\n`);
  });

  it('installs a local-build, kernel-booted, cloud-init-provisioned Debian 12 image', async () => {
    const dir = join(stateDir, 'images', DEBIAN_IMAGE_NAME);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      name: DEBIAN_IMAGE_NAME,
      kernel: 'vmlinuz',
      initrd: 'initrd.img',
      disk: 'disk.qcow2',
      cmdline: IMAGE_CMDLINE,
      readyMarker: null,
      os: { id: 'debian', version: '12', pretty: 'Debian 12 (bookworm)' },
      origin: 'local-build',
      bootMode: 'kernel',
      provisioning: 'cloud-init',
    });
    expect((await readdir(dir)).sort()).toEqual(['disk.qcow2', 'initrd.img', 'manifest.json', 'vmlinuz']);
    for (const name of ['vmlinuz', 'initrd.img', 'disk.qcow2']) {
      const stats = await stat(join(dir, name));
      expect(stats.mode & 0o777, name).toBe(0o644);
      expect(stats.uid, name).toBe(0);
    }
    // The kernel is a bzImage ("HdrS" at 0x202), the initrd the one its package made for it.
    expect((await readFile(join(dir, 'vmlinuz'))).subarray(0x202, 0x206).toString('latin1')).toBe('HdrS');
    const { stdout } = await run('qemu-img', ['info', '--output=json', join(dir, 'disk.qcow2')]);
    const info = JSON.parse(stdout) as Record<string, unknown>;
    expect(info.format).toBe('qcow2');
    expect(info['backing-filename']).toBeUndefined();
  });

  it('bakes the agent in, enabled, and configures cloud-init for NoCloud only', async () => {
    expect((await fileInDisk(AGENT_PATH)).toString()).toBe(AGENT_SCRIPT);
    expect((await fileInDisk(AGENT_UNIT_PATH)).toString()).toBe(AGENT_UNIT);
    expect(await debugfs(`stat ${AGENT_PATH}`)).toMatch(/Mode:\s+0755/);
    // Enabled as systemctl enable does it: the WantedBy=sysinit.target symlink.
    const link = await debugfs('stat /etc/systemd/system/sysinit.target.wants/hearth-agent.service');
    expect(link).toMatch(/Type: symlink/);
    expect(link).toContain(`Fast link dest: "${AGENT_UNIT_PATH}"`);
    for (const unit of MASKED_UNITS)
      expect(await debugfs(`stat /etc/systemd/system/${unit}`)).toContain('Fast link dest: "/dev/null"');
    const cfg = (await fileInDisk('/etc/cloud/cloud.cfg.d/90-hearth.cfg')).toString();
    expect(cfg).toBe(CLOUD_CFG);
    expect(cfg).toMatch(/^datasource_list: \[ NoCloud, None \]$/m);
    // The kernel and cloud-init are installed; the kernel's modules match the booted kernel.
    expect(await debugfs('ls -p /usr/bin')).toMatch(/\/cloud-init\//);
  });

  it('has no sshd host keys, an empty machine id and no apt lists', async () => {
    const ssh = await debugfs('ls -p /etc/ssh');
    expect(ssh).toMatch(/\/sshd_config\//);
    expect(ssh).not.toMatch(/ssh_host_/);
    expect((await fileInDisk('/etc/machine-id')).length).toBe(0);
    expect(await debugfs('ls -p /var/lib/dbus')).not.toMatch(/machine-id/);
    const lists = (await debugfs('ls -p /var/lib/apt/lists'))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('/')[5])
      .filter((n) => n && n !== '.' && n !== '..');
    expect(lists).toEqual(['partial']);
    expect(await debugfs('ls -p /var/lib')).not.toMatch(/\/cloud\//);
  });

  it(
    'serves a second run from the cache and only imports',
    async () => {
      // A build that died (its process is gone) and an entry of another recipe: both are cleared.
      const dead = join(DEBIAN_IMAGE_CACHE, `${'0'.repeat(64)}.partial-4194305`);
      const stale = join(DEBIAN_IMAGE_CACHE, 'f'.repeat(64));
      await mkdir(join(dead, 'tree'), { recursive: true });
      await mkdir(stale, { recursive: true });
      const again = await runBuildImage([
        '--state-dir',
        stateDir,
        '--cache-dir',
        DEBIAN_IMAGE_CACHE,
        '--name',
        'debian-again',
      ]);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.lines).toContain('::result bootstrap unchanged cached');
      expect(again.lines.filter((l) => l.startsWith('::progress'))).toEqual([]);
      expect(again.lines).toContainEqual(expect.stringMatching(/^::result import changed debian-again/));
      process.stderr.write(`build-image cached: ${again.seconds} s\n`);
      const a = await stat(join(stateDir, 'images', DEBIAN_IMAGE_NAME, 'disk.qcow2'));
      const b = await stat(join(stateDir, 'images', 'debian-again', 'disk.qcow2'));
      expect(b.size).toBe(a.size);
      const left = await readdir(DEBIAN_IMAGE_CACHE);
      expect(left).not.toContain(basename(dead));
      expect(left).not.toContain(basename(stale));
      expect(left).toContain(recipeKey(recipeFor({ mirror: DEFAULT_MIRROR, security: SECURITY_MIRROR })));
    },
    BUILD_TIMEOUT,
  );
});

describe('hearthd build-image arguments', () => {
  it.each([
    ['--mirror', 'file:///var/cache/apt/archives'],
    ['--mirror', 'http://deb.debian.org/debian --keyring=/tmp/mine.gpg'],
    ['--mirror', 'http://[::1]/debian'],
    ['--security-mirror', 'ftp://security.debian.org/'],
    ['--name', '../escape'],
    ['--name', 'Debian'],
  ])('refuses %s %s before building anything', async (flag, value) => {
    const state = join(work, 'args-state');
    const result = await runBuildImage(['--state-dir', state, '--cache-dir', join(work, 'args-cache'), flag, value]);
    expect(result.exitCode).toBe(64);
    expect(result.stderr).toContain(flag);
    expect(result.lines.filter((l) => l.startsWith('::'))).toEqual([]);
    expect(await readdir(work)).not.toContain('args-state');
  });
});

describe('hearthd build-image from a mirror Debian did not sign', () => {
  let server: Server;
  let mirror: string;
  const requests: string[] = [];

  beforeAll(async () => {
    // A "mirror" whose release file carries a signature that is not Debian's: it must be refused.
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url?.endsWith('/Release')) {
        res.end('Origin: Debian\nSuite: stable\nCodename: bookworm\nComponents: main\nArchitectures: amd64\n');
      } else if (req.url?.endsWith('/Release.gpg')) {
        res.end(Buffer.from('-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE\n-----END PGP SIGNATURE-----\n'));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}/debian`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('fails the bootstrap step and installs nothing', async () => {
    const state = join(work, 'broken-state');
    const cache = join(work, 'broken-cache');
    const result = await runBuildImage(['--state-dir', state, '--cache-dir', cache, '--mirror', mirror]);
    expect(result.exitCode).toBe(1);
    expect(result.lines).toContainEqual(expect.stringMatching(/^::fail bootstrap debootstrap failed .*signature/i));
    expect(result.lines.some((l) => l.startsWith('::step packages'))).toBe(false);
    expect(result.lines.some((l) => l.startsWith('::step import'))).toBe(false);
    expect(requests).toContain('/debian/dists/bookworm/Release.gpg');
    // Nothing in the store, and no half build left in the cache.
    expect(await readdir(join(state, 'images')).catch(() => [])).toEqual([]);
    expect((await readdir(cache)).filter((n) => n !== '.lock')).toEqual([]);
  }, 120_000);
});

describe('the installer action build-image', () => {
  /** The script as the app runs it, into a scratch root; resolves with its exit code and stdout. */
  async function installer(root: string) {
    const result = await run('bash', [INSTALL_SCRIPT, 'build-image', '--root', root]).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (error: unknown) => {
        const failed = error as { code: number; stdout: string };
        return { code: failed.code, stdout: failed.stdout };
      },
    );
    return { ...result, lines: result.stdout.split('\n').filter(Boolean) };
  }

  it('fails before doing anything when hearthd is not installed', async () => {
    const root = await mkdtemp(join(work, 'root-'));
    const result = await installer(root);
    expect(result.code).toBe(1);
    expect(result.lines).toContainEqual(expect.stringMatching(/^::fail bootstrap hearthd is not installed/));
    expect(await readdir(root)).toEqual([]);
  });

  it("runs the installed hearthd's build-image into the root's /var/lib/hearth, from its cache", async () => {
    const root = await mkdtemp(join(work, 'root-'));
    const lib = join(root, 'usr', 'lib', 'hearth');
    await mkdir(lib, { recursive: true, mode: 0o755 });
    await copyFile(process.execPath, join(lib, 'node'));
    await run('chmod', ['0755', join(lib, 'node')]);
    await copyFile(HEARTHD_BUNDLE, join(lib, 'hearthd.mjs'));
    // The root's build cache, seeded with the machine's cached build (hard links: no copy).
    const key = recipeKey(recipeFor({ mirror: DEFAULT_MIRROR, security: SECURITY_MIRROR }));
    const cache = join(root, 'var', 'cache', 'hearth', 'image-build');
    await mkdir(cache, { recursive: true });
    await cp(join(DEBIAN_IMAGE_CACHE, key), join(cache, key), { recursive: true });
    const result = await installer(root);
    expect(result.code, result.stdout).toBe(0);
    expect(result.lines).toContain('::result bootstrap unchanged cached');
    expect(result.lines).toContainEqual(expect.stringMatching(/^::result import changed debian-12-local/));
    expect(result.lines.at(-1)).toBe('::done build-image');
    const manifest = JSON.parse(
      await readFile(join(root, 'var', 'lib', 'hearth', 'images', 'debian-12-local', 'manifest.json'), 'utf8'),
    ) as { origin: string };
    expect(manifest.origin).toBe('local-build');
    expect((await stat(join(root, 'var', 'lib', 'hearth'))).mode & 0o777).toBe(0o711);
  }, 300_000);
});
