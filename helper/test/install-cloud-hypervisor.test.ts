import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HostRoot } from '../src/system/host-root.js';
import { PINNED_RELEASE, type ReleasePin } from '../src/vmm/install/release.js';
import { VmmRegistry } from '../src/vmm/registry.js';
import { HEARTHD_BUNDLE } from './support/hearthd-process.js';

/**
 * `hearthd install-cloud-hypervisor`, the built hearthd run as root as the installer runs it,
 * against a release mirror on 127.0.0.1: a fake `cloud-hypervisor-static` (a script that answers
 * --version like CH) and a real Debian package holding a fake CLOUDHV.fd, built with dpkg-deb.
 * The real digests cannot be exercised here (no GitHub); the test pins its own files' digests
 * with --test-pin, and every refusal path is the same code.
 */
const FAKE_CH = '#!/bin/sh\necho "cloud-hypervisor v53.0.0 (fake release asset for tests)"\n';
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

interface Run {
  code: number | null;
  lines: string[];
}

describe('hearthd install-cloud-hypervisor against a local mirror', () => {
  let work: string;
  let state: string;
  let server: Server;
  let baseUrl: string;
  let files: Map<string, Buffer>;
  /** Paths the server cuts off half-way (an interrupted download). */
  const cut = new Set<string>();
  let pin: ReleasePin;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'hearth-ch-install-'));
    // The release must be below directories only root can change (executables.ts), and /tmp is
    // everyone's: the state directory goes below /var/lib, which is root's.
    state = mkdtempSync('/var/lib/hearth-ch-install-test-');
    const firmware = randomBytes(64 * 1024);
    const tree = join(work, 'pkg');
    mkdirSync(join(tree, 'DEBIAN'), { recursive: true });
    mkdirSync(join(tree, 'usr/share/cloudhv-efi-x86-64'), { recursive: true });
    writeFileSync(join(tree, 'usr/share/cloudhv-efi-x86-64/CLOUDHV.fd'), firmware);
    writeFileSync(
      join(tree, 'DEBIAN/control'),
      'Package: cloudhv-efi-x86-64\nVersion: 2026.08+ds-2\nArchitecture: all\nMaintainer: Test <t@example.invalid>\nDescription: test firmware\n',
    );
    const deb = join(work, 'fw.deb');
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', tree, deb], { stdio: 'ignore' });
    const debBytes = readFileSync(deb);
    files = new Map([
      ['/mirror/cloud-hypervisor-static', Buffer.from(FAKE_CH)],
      [`/mirror/${PINNED_RELEASE.firmwarePackage.name}`, debBytes],
    ]);
    pin = {
      ...PINNED_RELEASE,
      binary: { ...PINNED_RELEASE.binary, sha256: sha256(FAKE_CH), size: Buffer.byteLength(FAKE_CH) },
      firmwarePackage: { ...PINNED_RELEASE.firmwarePackage, sha256: sha256(debBytes), size: debBytes.length },
      firmware: { ...PINNED_RELEASE.firmware, sha256: sha256(firmware), size: firmware.length },
    };
    server = createServer((req, res) => {
      const body = files.get(req.url ?? '');
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': body.length });
      if (cut.has(req.url ?? '')) {
        res.write(body.subarray(0, Math.floor(body.length / 2)));
        setTimeout(() => res.destroy(), 50);
        return;
      }
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    baseUrl = `http://127.0.0.1:${address.port}/mirror`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(work, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });

  beforeEach(() => {
    cut.clear();
    rmSync(join(state, 'vmm'), { recursive: true, force: true });
  });

  function install(withPin: ReleasePin): Promise<Run> {
    const pinFile = join(work, `pin-${randomBytes(4).toString('hex')}.json`);
    writeFileSync(pinFile, JSON.stringify(withPin));
    const args = ['install-cloud-hypervisor', '--state-dir', state, '--base-url', baseUrl, '--test-pin', pinFile];
    const child = spawn(process.execPath, [HEARTHD_BUNDLE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    return new Promise((resolve) =>
      child.once('exit', (code) => resolve({ code, lines: out.split('\n').filter(Boolean) })),
    );
  }

  /** Nothing below <state>/vmm but the (empty) directory itself: no release, no staging left. */
  const nothingInstalled = () =>
    expect(existsSync(join(state, 'vmm')) ? readdirSync(join(state, 'vmm')) : []).toEqual([]);
  const release = () => join(state, 'vmm', `cloud-hypervisor-${PINNED_RELEASE.version}`);

  it('installs the verified release root-owned with its firmware and a manifest, then finds nothing to do', async () => {
    const run = await install(pin);
    expect(run.code, run.lines.join('\n')).toBe(0);
    const steps = run.lines.filter((l) => l.startsWith('::step')).map((l) => l.split(' ')[1]);
    expect(steps).toEqual(['download', 'verify-digest', 'firmware', 'install-vmm']);
    expect(run.lines.filter((l) => l.startsWith('::result')).every((l) => l.split(' ')[2] === 'changed')).toBe(true);
    expect(run.lines).toContainEqual(expect.stringMatching(/^::progress download 100 /));
    expect(run.lines).toContainEqual(expect.stringMatching(/^::progress firmware \d+ /));

    const mode = (path: string) => {
      const s = statSync(path);
      return `${s.uid}:${s.gid} ${(s.mode & 0o7777).toString(8)}`;
    };
    expect(mode(join(state, 'vmm'))).toBe('0:0 755');
    expect(mode(release())).toBe('0:0 755');
    expect(mode(join(release(), 'cloud-hypervisor'))).toBe('0:0 755');
    expect(mode(join(release(), 'CLOUDHV.fd'))).toBe('0:0 644');
    expect(mode(join(release(), 'manifest.json'))).toBe('0:0 644');
    expect(readdirSync(release()).sort()).toEqual(['CLOUDHV.fd', 'cloud-hypervisor', 'manifest.json']);
    expect(sha256(readFileSync(join(release(), 'CLOUDHV.fd')))).toBe(pin.firmware.sha256);
    const manifest = JSON.parse(readFileSync(join(release(), 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      version: '53.0',
      binary: { sha256: pin.binary.sha256, url: `${baseUrl}/cloud-hypervisor-static` },
      firmware: {
        sha256: pin.firmware.sha256,
        package: 'cloudhv-efi-x86-64',
        packageSha256: pin.firmwarePackage.sha256,
      },
    });
    expect(Date.parse(manifest.installedAt as string)).toBeGreaterThan(Date.now() - 60_000);

    const again = await install(pin);
    expect(again.code).toBe(0);
    expect(again.lines.filter((l) => l.startsWith('::result')).map((l) => l.split(' ')[2])).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
  });

  it('is the Cloud Hypervisor the registry finds and prefers, with its firmware', async () => {
    expect((await install(pin)).code).toBe(0);
    // A host root without any cloud-hypervisor in its system directories: only the release counts.
    const empty = mkdtempSync(join(work, 'host-'));
    const registry = new VmmRegistry(new HostRoot(empty, process.getuid!()), { stateDir: state, releasePin: pin }, () =>
      Promise.resolve(false),
    );
    expect(await registry.detected()).toEqual([
      { kind: 'cloud-hypervisor', path: join(release(), 'cloud-hypervisor'), version: '53.0.0' },
    ]);
    const driver = await registry.forNewVm({ hypervisor: 'cloud-hypervisor' } as never);
    expect(driver).toMatchObject({ kind: 'cloud-hypervisor', firmware: join(release(), 'CLOUDHV.fd') });
    // The real pin does not accept these test files: a release must be the pinned one.
    const strict = new VmmRegistry(new HostRoot(empty, process.getuid!()), { stateDir: state }, () =>
      Promise.resolve(false),
    );
    expect(await strict.detected()).toEqual([]);
    // Without the release (removed), nothing is found.
    rmSync(release(), { recursive: true });
    expect(await registry.detected()).toEqual([]);
  });

  it('refuses a binary whose digest is not the pinned one, installing nothing', async () => {
    const run = await install({ ...pin, binary: { ...pin.binary, sha256: 'f'.repeat(64) } });
    expect(run.code).toBe(1);
    expect(run.lines).toContainEqual(
      expect.stringMatching(/^::fail verify-digest SHA-256 [0-9a-f]{64} is not the pinned f{64}/),
    );
    expect(run.lines.some((l) => l.startsWith('::step install-vmm'))).toBe(false);
    nothingInstalled();
  });

  it('refuses a firmware package whose digest is not the pinned one, installing nothing', async () => {
    const run = await install({ ...pin, firmwarePackage: { ...pin.firmwarePackage, sha256: '0'.repeat(64) } });
    expect(run.code).toBe(1);
    expect(run.lines).toContainEqual(expect.stringMatching(/^::fail firmware .*not the pinned 0{64}/));
    nothingInstalled();
  });

  it('installs nothing when the download is cut off half-way', async () => {
    cut.add('/mirror/cloud-hypervisor-static');
    const run = await install(pin);
    expect(run.code).toBe(1);
    expect(run.lines).toContainEqual(
      expect.stringMatching(/^::fail download could not download cloud-hypervisor-static/),
    );
    nothingInstalled();
  });

  it('refuses a file larger than the pinned size without writing more than that', async () => {
    const run = await install({ ...pin, binary: { ...pin.binary, size: 10 } });
    expect(run.code).toBe(1);
    expect(run.lines).toContainEqual(expect.stringMatching(/^::fail download .*more than the pinned 10/));
    nothingInstalled();
  });

  it('runs from the install script, where only the real pin applies: the test files are refused', async () => {
    const root = mkdtempSync(join(work, 'root-'));
    mkdirSync(join(root, 'usr/lib/hearth'), { recursive: true });
    symlinkSync(process.execPath, join(root, 'usr/lib/hearth/node'));
    symlinkSync(HEARTHD_BUNDLE, join(root, 'usr/lib/hearth/hearthd.mjs'));
    const script = join(import.meta.dirname, '..', '..', 'assets', 'linux', 'hearth-install.sh');
    // Not spawnSync: the mirror is served by this very process.
    const child = spawn('bash', [script, 'install-cloud-hypervisor', '--root', root, '--base-url', baseUrl]);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const run = { status, stdout };
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^::step download /m);
    expect(run.stdout).toMatch(
      new RegExp(`^::fail verify-digest .*not the pinned ${PINNED_RELEASE.binary.sha256}`, 'm'),
    );
    expect(readdirSync(join(root, 'var/lib/hearth/vmm'))).toEqual([]);
  });
});
