import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DownloadProgress } from '#protocol';
import { CatalogSite, TestSigner } from './support/catalog-site.js';
import { installTestImage, TEST_IMAGE } from './support/environments.js';
import { HearthdProcess, makePaths, type HearthdPaths } from './support/hearthd-process.js';
import { requestAs } from './support/request-as.js';
import { eventually } from './support/eventually.js';
import { SseReader } from './support/sse-reader.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';

const run = promisify(execFile);
const NOBODY = 65534;
const UBUNTU = {
  name: 'ubuntu-24.04',
  sums: 'SHA256SUMS',
  sig: 'SHA256SUMS.gpg',
  hash: 'sha256',
  file: 'ubuntu-24.04-server-cloudimg-amd64.img',
} as const;
const DEBIAN = {
  name: 'debian-12',
  sums: 'SHA512SUMS',
  sig: 'SHA512SUMS.sign',
  hash: 'sha512',
  file: 'debian-12-genericcloud-amd64.qcow2',
} as const;
type Site = typeof UBUNTU | typeof DEBIAN;

interface ImageEventSeen {
  name: string;
  change: string;
  progress: DownloadProgress | null;
  time: string;
}

// The catalog, end to end: a real hearthd (as the unit runs it) downloads from a fake image site
// on loopback whose checksum lists are signed with a key made here, and checks them with gpgv.
// One hearthd and one image site serve these tests as one story (each leaves the catalog as the
// next expects): they keep their order under --sequence.shuffle, and the file still runs alone.
describe('the image catalog against a local image site', { ...skipWhen(NEEDS_ROOT), shuffle: false }, () => {
  let work: string;
  let site: CatalogSite;
  let signer: TestSigner;
  let impostor: TestSigner;
  let keyring: string;
  let imageFile: string; // a small qcow2 full of random data: the "cloud image"
  let image: Buffer;
  let paths: HearthdPaths;
  let daemon: HearthdProcess;
  let events: SseReader;

  const as = (uid: number, method: string, path: string, body?: unknown) =>
    requestAs(paths.socket, uid, method, path, body);
  const flags = () => ['--catalog-base-url', site.baseUrl, '--test-catalog-keyring', keyring];
  const imageEvents = (name: string): ImageEventSeen[] =>
    events.messages
      .filter((m) => m.event === 'image' && (m.data as ImageEventSeen).name === name)
      .map((m) => m.data as ImageEventSeen);
  const downloadsDir = () => join(paths.stateDir, 'images', '.downloads');
  const partials = async () => (await readdir(downloadsDir())).filter((f) => !f.startsWith('.'));

  /** Publishes `entry` on the site: its image, a checksum list naming it, and a detached signature. */
  async function publish(entry: Site, opts: { signer?: TestSigner; listedBytes?: Buffer; signedAt?: number } = {}) {
    const digest = createHash(entry.hash)
      .update(opts.listedBytes ?? image)
      .digest('hex');
    const other = createHash(entry.hash).update('another file').digest('hex');
    // Both formats the sites use: Ubuntu's binary-mode `*name`, Debian's two spaces.
    const mark = entry.hash === 'sha256' ? ' *' : '  ';
    const sums = Buffer.from(`${other}${mark}other-file.tar.gz\n${digest}${mark}${entry.file}\n`);
    site.put(`/${entry.name}/${entry.sums}`, sums);
    site.put(`/${entry.name}/${entry.sig}`, await (opts.signer ?? signer).sign(sums, opts.signedAt));
    site.put(`/${entry.name}/${entry.file}`, image);
  }

  async function startDaemon(): Promise<void> {
    daemon = await HearthdProcess.start(paths, flags());
    await chmod(paths.socket, 0o666); // this daemon serves this test only
    events = await SseReader.open(paths.socket, '/v1/events');
  }

  async function waitForEnd(name: string, from: number): Promise<ImageEventSeen> {
    return eventually(
      () =>
        imageEvents(name)
          .slice(from)
          .find((e) => e.change === 'installed' || e.change === 'failed'),
      { timeoutMs: 60_000, what: `the end of the ${name} download` },
    );
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'hearth-catalog-'));
    await chmod(work, 0o711);
    signer = await TestSigner.create(join(work, 'publisher'), 'Hearth Test Images <images@test.invalid>');
    impostor = await TestSigner.create(join(work, 'impostor'), 'Not The Publisher <impostor@test.invalid>');
    keyring = join(work, 'test-keyring.gpg');
    await signer.exportKeyring(keyring);
    await writeFile(join(work, 'disk.raw'), randomBytes(4 * 1024 * 1024));
    imageFile = join(work, 'disk.qcow2');
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', join(work, 'disk.raw'), imageFile]);
    image = await readFile(imageFile);
    site = await CatalogSite.start();
    paths = await makePaths('hearthd-catalog-');
    await installTestImage(paths);
    await startDaemon();
  }, 600_000);

  afterAll(async () => {
    // Whatever beforeAll got to make, also when it failed half-way.
    const made = { events, daemon, site } as Partial<{ events: SseReader; daemon: HearthdProcess; site: CatalogSite }>;
    made.events?.close();
    await made.daemon?.dispose();
    await made.site?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('lists Ubuntu 24.04 and Debian 12, with where their signed checksums are read', async () => {
    const answer = await as(0, 'GET', '/v1/catalog');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      entries: [
        {
          name: 'ubuntu-24.04',
          os: { id: 'ubuntu', version: '24.04' },
          bootMode: 'firmware',
          provisioning: 'cloud-init',
          source: `${site.baseUrl}ubuntu-24.04/SHA256SUMS`,
          installed: false,
          download: null,
        },
        {
          name: 'debian-12',
          os: { id: 'debian', version: '12' },
          source: `${site.baseUrl}debian-12/SHA512SUMS`,
          installed: false,
          download: null,
        },
      ],
    });
    // Members see the catalog; only administrators act on it.
    expect((await as(NOBODY, 'GET', '/v1/catalog')).status).toBe(200);
  });

  it('lets only administrators download or delete; an unknown name is not found', async () => {
    const member = await as(NOBODY, 'POST', '/v1/catalog/debian-12/download');
    expect(member).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect(await as(NOBODY, 'DELETE', `/v1/images/${TEST_IMAGE}`)).toMatchObject({ status: 403 });
    expect(await as(0, 'POST', '/v1/catalog/fedora-40/download')).toMatchObject({
      status: 404,
      body: { code: 'not-found' },
    });
    expect(site.requests).toEqual([]);
    expect((await as(0, 'GET', '/v1/images')).body).toMatchObject({ images: [{ name: TEST_IMAGE }] });
  });

  it('downloads with progress, resumes after a cut connection, verifies and installs', async () => {
    await publish(DEBIAN);
    const path = `/${DEBIAN.name}/${DEBIAN.file}`;
    const cut = 1536 * 1024;
    site.cutAfter.set(path, cut);
    const seen = imageEvents(DEBIAN.name).length;

    const answer = await as(0, 'POST', `/v1/catalog/${DEBIAN.name}/download`);
    expect(answer).toMatchObject({
      status: 202,
      body: { name: DEBIAN.name, installed: false, download: { phase: 'resolving' } },
    });
    const end = await waitForEnd(DEBIAN.name, seen);
    expect(end.progress?.message).toBe(`Installed ${DEBIAN.name}`);
    expect(end).toMatchObject({ change: 'installed', progress: { phase: 'installed', receivedBytes: image.length } });

    // The cut: the first request had no range, the next asked for the rest from where it stopped.
    const asked = site.requests.filter((r) => r.path === path);
    expect(asked[0]?.range).toBeUndefined();
    const resumed = Number(/^bytes=(\d+)-$/.exec(asked[1]?.range ?? '')?.[1]);
    expect(resumed).toBeGreaterThan(0);
    expect(resumed).toBeLessThanOrEqual(cut);
    expect(asked).toHaveLength(2);

    // Progress: every phase in order; bytes only grow; at most four events a second, the last always.
    const progress = imageEvents(DEBIAN.name)
      .slice(seen)
      .filter((e) => e.change === 'progress');
    const phases = [...new Set(progress.map((e) => e.progress!.phase))];
    expect(phases).toEqual(['resolving', 'downloading', 'verifying', 'installing']);
    const downloading = progress.filter((e) => e.progress!.phase === 'downloading');
    expect(downloading.length).toBeGreaterThanOrEqual(3);
    const bytes = downloading.map((e) => e.progress!.receivedBytes);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    expect(downloading.at(-1)!.progress).toMatchObject({ receivedBytes: image.length, totalBytes: image.length });
    const times = downloading.slice(1, -1).map((e) => Date.parse(e.time));
    for (let i = 1; i < times.length; i += 1) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(240);

    // Installed as a firmware-booted, cloud-init image; the disk holds exactly the image's data.
    const images = (await as(0, 'GET', '/v1/images')).body.images as Array<Record<string, unknown>>;
    expect(images.find((i) => i.name === DEBIAN.name)).toMatchObject({
      origin: 'catalog',
      bootMode: 'firmware',
      provisioning: 'cloud-init',
      os: { id: 'debian', version: '12', pretty: 'Debian 12 (bookworm)' },
      readyMarker: null,
      usedBy: 0,
    });
    const disk = join(paths.stateDir, 'images', DEBIAN.name, 'disk.qcow2');
    await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', imageFile, disk]);
    const manifest = JSON.parse(await readFile(join(paths.stateDir, 'images', DEBIAN.name, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ kernel: null, initrd: null, disk: 'disk.qcow2', origin: 'catalog' });
    expect(((await stat(disk)).mode & 0o777).toString(8)).toBe('644');
    expect(((await stat(downloadsDir())).mode & 0o777).toString(8)).toBe('700');
    expect(await partials()).toEqual([]);

    const catalog = (await as(0, 'GET', '/v1/catalog')).body.entries as Array<Record<string, unknown>>;
    expect(catalog.find((e) => e.name === DEBIAN.name)).toMatchObject({
      installed: true,
      download: { phase: 'installed' },
    });
    // Installed: a second download is refused until the image is deleted.
    expect(await as(0, 'POST', `/v1/catalog/${DEBIAN.name}/download`)).toMatchObject({
      status: 409,
      body: { code: 'conflict' },
    });
  }, 120_000);

  it('rejects a checksum list signed by a key outside the keyring; nothing is downloaded or installed', async () => {
    await publish(UBUNTU, { signer: impostor });
    const before = site.requests.length;
    const seen = imageEvents(UBUNTU.name).length;
    expect((await as(0, 'POST', `/v1/catalog/${UBUNTU.name}/download`)).status).toBe(202);
    const end = await waitForEnd(UBUNTU.name, seen);
    expect(end).toMatchObject({ change: 'failed', progress: { phase: 'failed' } });
    expect(end.progress!.message).toMatch(
      /^The signature on SHA256SUMS is not valid: it is signed by key [0-9A-F]+, which is not in the shipped keyring/,
    );
    expect(
      site.requests
        .slice(before)
        .map((r) => r.path)
        .sort(),
    ).toEqual([`/${UBUNTU.name}/${UBUNTU.sums}`, `/${UBUNTU.name}/${UBUNTU.sig}`]);
    expect(await readdir(join(paths.stateDir, 'images'))).not.toContain(UBUNTU.name);
    expect(await readdir(downloadsDir())).toEqual([]);
  }, 60_000);

  it('rejects a checksum mismatch: the download is discarded and nothing is installed', async () => {
    await publish(UBUNTU, { listedBytes: Buffer.from('the bytes the publisher meant') });
    const seen = imageEvents(UBUNTU.name).length;
    expect((await as(0, 'POST', `/v1/catalog/${UBUNTU.name}/download`)).status).toBe(202);
    const end = await waitForEnd(UBUNTU.name, seen);
    expect(end).toMatchObject({ change: 'failed', progress: { phase: 'failed', receivedBytes: image.length } });
    expect(end.progress!.message).toMatch(
      /^Checksum mismatch: ubuntu-24.04-server-cloudimg-amd64.img has sha256 [0-9a-f]{64}, the signed SHA256SUMS says [0-9a-f]{64}/,
    );
    expect(await readdir(join(paths.stateDir, 'images'))).not.toContain(UBUNTU.name);
    expect(await partials()).toEqual([]);
  }, 60_000);

  it('refuses a checksum list over 1 MiB; the image is not even asked for', async () => {
    await publish(UBUNTU);
    site.put(`/${UBUNTU.name}/${UBUNTU.sums}`, Buffer.alloc(1024 * 1024 + 1, '#'));
    const before = site.requests.length;
    const seen = imageEvents(UBUNTU.name).length;
    expect((await as(0, 'POST', `/v1/catalog/${UBUNTU.name}/download`)).status).toBe(202);
    const end = await waitForEnd(UBUNTU.name, seen);
    expect(end).toMatchObject({ change: 'failed' });
    expect(end.progress!.message).toMatch(/SHA256SUMS is larger than 1048576 bytes/);
    expect(site.requests.slice(before).map((r) => r.path)).not.toContain(`/${UBUNTU.name}/${UBUNTU.file}`);
    expect(await partials()).toEqual([]);
  }, 60_000);

  it('answers a second request with the running download, and resumes it after hearthd is killed', async () => {
    await publish(UBUNTU);
    const path = `/${UBUNTU.name}/${UBUNTU.file}`;
    const stall = 1024 * 1024;
    site.stallAfter.set(path, stall);
    const before = site.requests.length;
    expect((await as(0, 'POST', `/v1/catalog/${UBUNTU.name}/download`)).status).toBe(202);
    const entry = async () =>
      (
        (await as(0, 'GET', '/v1/catalog')).body.entries as Array<{ name: string; download: DownloadProgress | null }>
      ).find((e) => e.name === UBUNTU.name)!;
    await eventually(async () => (await entry()).download?.receivedBytes === stall, {
      what: 'the download to stall',
      timeoutMs: 30_000,
    });
    expect((await entry()).download).toMatchObject({
      phase: 'downloading',
      receivedBytes: stall,
      totalBytes: image.length,
    });

    const again = await as(0, 'POST', `/v1/catalog/${UBUNTU.name}/download`);
    expect(again).toMatchObject({ status: 202, body: { download: { phase: 'downloading', receivedBytes: stall } } });
    expect(site.requests.slice(before).filter((r) => r.path === `/${UBUNTU.name}/${UBUNTU.sums}`)).toHaveLength(1);

    // A crash, not an orderly stop: whatever reached the partial file is all there is.
    events.close();
    daemon.signal('SIGKILL');
    await daemon.waitForExit();
    await startDaemon();
    expect((await entry()).download).toMatchObject({ phase: 'cancelled', receivedBytes: stall });
    expect(await partials()).toEqual([`${UBUNTU.name}.partial`, `${UBUNTU.name}.partial.json`]);

    const seen = imageEvents(UBUNTU.name).length;
    expect((await as(0, 'POST', `/v1/catalog/${UBUNTU.name}/download`)).status).toBe(202);
    expect(await waitForEnd(UBUNTU.name, seen)).toMatchObject({ change: 'installed' });
    expect(site.requests.filter((r) => r.path === path).at(-1)?.range).toBe(`bytes=${stall}-`);
    await run('qemu-img', [
      'compare',
      '-f',
      'qcow2',
      '-F',
      'qcow2',
      imageFile,
      join(paths.stateDir, 'images', UBUNTU.name, 'disk.qcow2'),
    ]);
    expect(await partials()).toEqual([]);
  }, 120_000);

  it('refuses a validly signed checksum list older than the last one accepted (a rollback), even after a delete', async () => {
    expect((await as(0, 'DELETE', `/v1/images/${UBUNTU.name}`)).status).toBe(200);
    // Signed by the publisher's own key, but before the list Ubuntu was installed from.
    await publish(UBUNTU, { signedAt: signer.createdAt + 1 });
    const before = site.requests.length;
    const seen = imageEvents(UBUNTU.name).length;
    expect((await as(0, 'POST', `/v1/catalog/${UBUNTU.name}/download`)).status).toBe(202);
    const end = await waitForEnd(UBUNTU.name, seen);
    expect(end).toMatchObject({ change: 'failed', progress: { phase: 'failed' } });
    expect(end.progress!.message).toMatch(
      /^The signed SHA256SUMS is older \(signed [-0-9T:.]+Z\) than the one hearthd last accepted \(signed [-0-9T:.]+Z\): refused as a rollback/,
    );
    expect(site.requests.slice(before).map((r) => r.path)).not.toContain(`/${UBUNTU.name}/${UBUNTU.file}`);
    expect(await readdir(join(paths.stateDir, 'images'))).not.toContain(UBUNTU.name);

    // The current list installs again.
    await publish(UBUNTU);
    const again = imageEvents(UBUNTU.name).length;
    expect((await as(0, 'POST', `/v1/catalog/${UBUNTU.name}/download`)).status).toBe(202);
    expect(await waitForEnd(UBUNTU.name, again)).toMatchObject({ change: 'installed' });
  }, 120_000);

  it('refuses to delete an image an environment uses, and deletes it once none does', async () => {
    expect((await as(0, 'PATCH', '/v1/config', { minimumMemoryMiB: 64 })).status).toBe(200);
    expect((await as(0, 'PUT', '/v1/classes/tiny', { cpus: 1, memoryMiB: 128, diskGiB: 1 })).status).toBe(200);
    const created = await as(0, 'POST', '/v1/environments', {
      name: 'uses-it',
      class: 'tiny',
      image: TEST_IMAGE,
      start: false,
    });
    expect(created.status).toBe(201);

    const refused = await as(0, 'DELETE', `/v1/images/${TEST_IMAGE}`);
    expect(refused).toMatchObject({
      status: 409,
      body: { code: 'conflict', message: `Image "${TEST_IMAGE}" is used by 1 environment` },
    });
    expect(await readdir(join(paths.stateDir, 'images'))).toContain(TEST_IMAGE);

    expect((await as(0, 'DELETE', `/v1/environments/${String(created.body.id)}`)).status).toBe(200);
    const deleted = await as(0, 'DELETE', `/v1/images/${TEST_IMAGE}`);
    expect(deleted.status).toBe(200);
    expect((deleted.body.images as Array<{ name: string }>).map((i) => i.name)).toEqual([DEBIAN.name, UBUNTU.name]);
    await eventually(() => imageEvents(TEST_IMAGE).some((e) => e.change === 'deleted'), {
      timeoutMs: 5_000,
      what: 'the deleted event',
    });
    expect(await readdir(join(paths.stateDir, 'images'))).not.toContain(TEST_IMAGE);
    expect(await as(0, 'DELETE', `/v1/images/${TEST_IMAGE}`)).toMatchObject({ status: 404 });
  }, 60_000);
});
