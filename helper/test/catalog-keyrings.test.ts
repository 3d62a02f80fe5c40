import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksumFor } from '../src/images/catalog/checksums.js';
import { CATALOG } from '../src/images/catalog/entries.js';
import { CatalogSite, TestSigner } from './support/catalog-site.js';
import { HearthdProcess, makePaths } from './support/hearthd-process.js';
import { requestAs } from './support/request-as.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';
import { eventually } from './support/eventually.js';

const run = promisify(execFile);
const KEYRINGS = join(import.meta.dirname, '..', '..', 'assets', 'keyrings');

/** The keys each shipped keyring must hold, as assets/keyrings/README.md documents them. */
const EXPECTED: Record<string, string[]> = {
  'ubuntu-cloudimage-keyring.gpg': [
    'D2EB44626FDDC30B513D5BB71A5D6C4C7DB87C81',
    '4A3CE3CD565D7EB5C810E2B97FF3F408476CF100',
  ],
  'debian-cd-signing-keyring.gpg': [
    '10460DAD76165AD81FBC0CE9988021A964E6EA7D',
    'DF9B9C49EAA9298432589D76DA87E80D6294BE9B',
  ],
};

async function fingerprints(file: string): Promise<string[]> {
  const home = await mkdtemp(join(tmpdir(), 'hearth-gpg-'));
  try {
    const { stdout } = await run('gpg', ['--homedir', home, '--with-colons', '--show-keys', file]);
    // A primary key's fingerprint is the `fpr` line right after its `pub` line.
    const lines = stdout.split('\n');
    return lines.flatMap((line, i) =>
      line.startsWith('fpr:') && lines[i - 1]?.startsWith('pub:') ? [line.split(':')[9]!] : [],
    );
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

describe('the shipped catalog keyrings', () => {
  it('hold exactly the keys their README documents, and each entry names one of them', async () => {
    const readme = await readFile(join(KEYRINGS, 'README.md'), 'utf8');
    for (const [file, expected] of Object.entries(EXPECTED)) {
      expect((await fingerprints(join(KEYRINGS, file))).sort()).toEqual([...expected].sort());
      for (const fpr of expected) expect(readme.replaceAll(' ', '')).toContain(fpr);
    }
    expect(CATALOG.map((e) => e.keyring).sort()).toEqual(Object.keys(EXPECTED).sort());
  });
});

describe('checksum lists', () => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);

  it("reads both sites' formats and only the exact file name", () => {
    expect(checksumFor(`${a} *disk.img\n`, 'disk.img', 'sha256')).toBe(a);
    expect(checksumFor(`${a.toUpperCase()}  disk.img\r\n`, 'disk.img', 'sha256')).toBe(a);
    expect(checksumFor(`${a}  disk.img.tar.gz\n${b}  old-disk.img\n`, 'disk.img', 'sha256')).toBeUndefined();
    // A sha256 line never satisfies a sha512 lookup.
    expect(checksumFor(`${a}  disk.img\n`, 'disk.img', 'sha512')).toBeUndefined();
  });

  it('refuses a list that names the file twice with different checksums', () => {
    expect(() => checksumFor(`${a}  disk.img\n${b} *disk.img\n`, 'disk.img', 'sha256')).toThrow(/2 different/);
    expect(checksumFor(`${a}  disk.img\n${a} *disk.img\n`, 'disk.img', 'sha256')).toBe(a);
  });
});

// The bundle carries the real keyrings: a list signed by any other key is refused with them.
describe('hearthd with its shipped keyrings', skipWhen(NEEDS_ROOT), () => {
  let site: CatalogSite | undefined;
  let daemon: HearthdProcess | undefined;
  let work: string | undefined;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'hearth-keyrings-'));
    const signer = await TestSigner.create(join(work, 'gnupg'), 'Not Canonical <nobody@test.invalid>');
    site = await CatalogSite.start();
    const sums = Buffer.from(`${'c'.repeat(64)} *ubuntu-24.04-server-cloudimg-amd64.img\n`);
    site.put('/ubuntu-24.04/SHA256SUMS', sums);
    site.put('/ubuntu-24.04/SHA256SUMS.gpg', await signer.sign(sums));
    daemon = await HearthdProcess.start(await makePaths('hearthd-keyrings-'), ['--catalog-base-url', site.baseUrl]);
    await chmod(daemon.paths.socket, 0o600);
  }, 120_000);

  afterAll(async () => {
    await daemon?.dispose();
    await site?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('refuses a checksum list signed by a key that is not Ubuntu’s', async () => {
    const socket = daemon!.paths.socket;
    expect((await requestAs(socket, 0, 'POST', '/v1/catalog/ubuntu-24.04/download')).status).toBe(202);
    type Entry = { name: string; download: { phase: string; message: string } | null };
    const entry = await eventually(
      async () => {
        const first = ((await requestAs(socket, 0, 'GET', '/v1/catalog')).body.entries as Entry[])[0];
        return first?.download?.phase === 'failed' ? first : undefined;
      },
      { what: 'the download to fail', timeoutMs: 30_000, intervalMs: 100 },
    );
    const message = entry.download?.message;
    expect(message).toMatch(
      /^The signature on SHA256SUMS is not valid: it is signed by key [0-9A-F]+, which is not in the shipped keyring/,
    );
    expect(site!.requests.map((r) => r.path)).not.toContain('/ubuntu-24.04/ubuntu-24.04-server-cloudimg-amd64.img');
  });
});
