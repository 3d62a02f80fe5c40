import { parseSubnet } from '../src/network/subnet.js';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Environment } from '#protocol';
import {
  loadRecord,
  migrate,
  RECORD_VERSION,
  saveRecord,
  toWire,
  type EnvironmentRecord,
} from '../src/environments/record.js';
import { sampleRecord, scratch } from './support/records.js';
import { assertMatches } from './support/schema.js';

/**
 * A version-1 record as hearthd up to 328d13a wrote it (`StoredRecord` in environment-manager.ts):
 * the wire `Environment` of that time, without `autostart`, next to the VMM's runtime.
 */
function v1(record: EnvironmentRecord = sampleRecord()) {
  const environment: Partial<Environment> = toWire(record, parseSubnet('10.131.0.0/24'));
  delete environment.autostart;
  return { version: 1, environment, runtime: record.runtime };
}

let root: Awaited<ReturnType<typeof scratch>>;
beforeEach(async () => {
  root = await scratch('hearth-record-');
});
afterEach(() => root.done());

describe('migrate', () => {
  it('turns a v1 record into spec, status and runtime, with autostart off', () => {
    const record = sampleRecord();
    expect(migrate(v1(record))).toEqual({ ...record, spec: { ...record.spec, autostart: false } });
  });

  it('migrates a stopped v1 record without a runtime', () => {
    const record = sampleRecord();
    record.status = { ...record.status, state: 'stopped', reason: 'stopped on request', vmm: null };
    record.runtime = null;
    expect(migrate(v1(record))).toMatchObject({ version: RECORD_VERSION, runtime: null, status: { vmm: null } });
  });

  it('keeps a v1 environment whose disk was as large as v1 allowed (16 TiB)', () => {
    const record = sampleRecord();
    record.spec.resources.diskGiB = 16 * 1024;
    const migrated = migrate(v1(record));
    expect(migrated?.spec.resources.diskGiB).toBe(16 * 1024);
    // …and once saved as the current version, it loads again.
    expect(migrate(migrated)).toBe(migrated);
  });

  it('returns a current (v3) record as it is', () => {
    const record = sampleRecord();
    expect(migrate(record)).toBe(record);
  });

  it("moves a v2 record's network and host keys out of the spec into their components' stored state", () => {
    const { components, ...current } = sampleRecord();
    const network = { host: 7, mac: '52:54:00:0a:0b:0c', isolated: true };
    const hostKeys = [{ type: 'ssh-ed25519', publicKey: 'ssh-ed25519 AAAAC3Nza', fingerprint: 'SHA256:abc' }];
    const v2 = { ...current, version: 2, spec: { ...current.spec, network, hostKeys } };
    expect(components).toEqual({});
    expect(migrate(v2)).toEqual({ ...current, version: RECORD_VERSION, components: { network, hostKeys } });
    // One without provisioning had neither; v2 never had component states of its own.
    expect(migrate({ ...current, version: 2 })).toEqual({ ...current, version: RECORD_VERSION, components: {} });
    expect(migrate({ ...v2, components: { network } })).toBeUndefined();
  });

  it.each([
    ['no version', () => ({ ...sampleRecord(), version: undefined })],
    ['a future version', () => ({ ...sampleRecord(), version: 4 })],
    ['a v3 with the network in the spec', () => ({ ...sampleRecord(), spec: { ...sampleRecord().spec, network: {} } })],
    ['an unknown component state', () => ({ ...sampleRecord(), components: { ports: [] } })],
    ['an unknown field', () => ({ ...sampleRecord(), extra: 1 })],
    ['a bad state', () => ({ ...sampleRecord(), status: { ...sampleRecord().status, state: 'paused' } })],
    ['no spec', () => ({ ...sampleRecord(), spec: undefined })],
    [
      'a v1 with autostart (v1 never had it)',
      () => ({ ...v1(), environment: { ...v1().environment, autostart: true } }),
    ],
    ['a v1 with a bad id', () => ({ ...v1(), environment: { ...v1().environment, id: '../etc' } })],
    ['null', () => null],
    ['an array', () => [sampleRecord()]],
  ])('refuses %s', (_, make) => {
    expect(migrate(make())).toBeUndefined();
  });
});

describe('toWire', () => {
  it('shows every field of the record, and nothing else, as the API type', () => {
    const record = sampleRecord();
    const wire = toWire(record, parseSubnet('10.131.0.0/24'));
    assertMatches(Environment, wire);
    const { spec, status } = record;
    expect(wire).toEqual({ ...spec, ...status, network: null, ssh: null, provisioning: null, repository: null });
  });

  it('shows a repository as the spec asked for it and as the clone went; a pending clone before it began', () => {
    const record = sampleRecord();
    record.spec.repository = {
      url: 'https://git.example.org/team/app.git',
      transport: 'https',
      credentialHost: 'git.example.org',
      path: 'team/app.git',
      directory: 'app',
      ref: 'feature',
    };
    const pending = toWire(record, parseSubnet('10.131.0.0/24'));
    assertMatches(Environment, pending);
    expect(pending.repository).toEqual({
      url: 'https://git.example.org/team/app.git',
      host: 'git.example.org',
      directory: '/workspace/app',
      ref: 'feature',
      grantHosts: [],
      commit: null,
      clone: { status: 'pending', phase: null, percent: null, error: null },
    });
    record.status.repository = {
      commit: 'a'.repeat(40),
      clone: { status: 'done', phase: null, percent: 100, error: null },
    };
    expect(toWire(record, parseSubnet('10.131.0.0/24')).repository).toMatchObject({
      commit: 'a'.repeat(40),
      clone: { status: 'done' },
    });
  });

  it('gives a networked environment its address in the current subnet, and SSH once it has keys', () => {
    const base = sampleRecord();
    const hostKeys = [{ type: 'ssh-ed25519', publicKey: 'ssh-ed25519 AAAAC3Nza', fingerprint: 'SHA256:abc' }];
    const record = {
      ...base,
      spec: { ...base.spec, sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBnKq owner@box' },
      components: { network: { host: 7, mac: '52:54:00:0a:0b:0c', isolated: true }, hostKeys },
    };
    const wire = toWire(record, parseSubnet('10.131.0.0/24'));
    assertMatches(Environment, wire);
    expect(wire.network).toEqual({
      address: '10.131.0.7',
      hostname: `${base.spec.name}.hearth`,
      mac: '52:54:00:0a:0b:0c',
      isolated: true,
    });
    expect(wire.ssh).toEqual({
      user: 'dev',
      host: '10.131.0.7',
      port: 22,
      hostKeyAlias: `hearth-${base.spec.id}`,
      hostKeys,
    });
    expect(toWire(record, parseSubnet('172.31.8.0/22')).network?.address).toBe('172.31.8.7');
  });

  it('round-trips through a v1 record and back', () => {
    const record = { ...sampleRecord(), spec: { ...sampleRecord().spec, autostart: false } };
    expect(migrate(v1(record))).toEqual(record);
  });

  it('hands out copies: changing the wire object leaves the record alone', () => {
    const record = sampleRecord();
    const wire = toWire(record, parseSubnet('10.131.0.0/24'));
    wire.owner.uid = 0;
    wire.resources.cpus = 64;
    wire.vmm!.pid = 1;
    expect(record.spec.owner.uid).toBe(1000);
    expect(record.spec.resources.cpus).toBe(2);
    expect(record.status.vmm?.pid).toBe(4242);
  });
});

describe('loadRecord', () => {
  const file = () => join(root.dir, 'environment.json');

  it('loads a v2 record as it is and a v1 record migrated', async () => {
    await writeFile(file(), JSON.stringify(sampleRecord()));
    expect(await loadRecord(file())).toEqual({ kind: 'ok', record: sampleRecord(), migrated: false });
    await writeFile(file(), JSON.stringify(v1()));
    const loaded = await loadRecord(file());
    expect(loaded).toMatchObject({ kind: 'ok', migrated: true, record: { spec: { autostart: false } } });
  });

  it('loads a v2 record as written before components kept their own state, migrated', async () => {
    const current: Partial<EnvironmentRecord> = sampleRecord();
    delete current.components;
    const network = { host: 9, mac: '52:54:00:0a:0b:0d', isolated: false };
    await writeFile(file(), JSON.stringify({ ...current, version: 2, spec: { ...current.spec!, network } }));
    expect(await loadRecord(file())).toEqual({
      kind: 'ok',
      migrated: true,
      record: { ...current, version: RECORD_VERSION, components: { network } },
    });
  });

  it('is missing when there is no file (or no directory)', async () => {
    expect(await loadRecord(file())).toEqual({ kind: 'missing' });
    expect(await loadRecord(join(root.dir, 'nodir', 'environment.json'))).toEqual({ kind: 'missing' });
  });

  it.each([
    ['not JSON', '{"version": 2,'],
    ['empty', ''],
    ['JSON of the wrong shape', '{"version": 2}'],
  ])('is invalid when it is %s', async (_, text) => {
    await writeFile(file(), text);
    expect(await loadRecord(file())).toEqual({ kind: 'invalid' });
  });

  it('does not follow a symbolic link, even to a valid record', async () => {
    const real = join(root.dir, 'elsewhere.json');
    await writeFile(real, JSON.stringify(sampleRecord()));
    await symlink(real, file());
    expect(await loadRecord(file())).toEqual({ kind: 'invalid' });
  });

  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    execFileSync('mkfifo', [file()]);
    const started = Date.now();
    expect(await loadRecord(file())).toEqual({ kind: 'invalid' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses a directory where the record should be', async () => {
    await mkdir(file());
    expect(await loadRecord(file())).toEqual({ kind: 'invalid' });
  });

  it('reads only the start of a huge file (and so finds it invalid)', async () => {
    // A valid record after padding past the bound: if it were read whole it would load.
    await writeFile(file(), ' '.repeat(128 * 1024) + JSON.stringify(sampleRecord()));
    expect(await loadRecord(file())).toEqual({ kind: 'invalid' });
    await truncate(file(), 8 * 1024 ** 3); // sparse: 8 GiB that would never fit in memory
    const started = Date.now();
    expect(await loadRecord(file())).toEqual({ kind: 'invalid' });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('saveRecord', () => {
  const file = () => join(root.dir, 'environment.json');

  it('writes a root-only record that loads back, leaving no temporary file', async () => {
    await saveRecord(file(), sampleRecord());
    expect((await stat(file())).mode & 0o777).toBe(0o600);
    expect(await loadRecord(file())).toEqual({ kind: 'ok', record: sampleRecord(), migrated: false });
    expect(await readdir(root.dir)).toEqual(['environment.json']);
  });

  it('replaces the file whole (a new inode), tightening a loose mode', async () => {
    await writeFile(file(), JSON.stringify(v1()), { mode: 0o644 });
    const before = await stat(file());
    await saveRecord(file(), sampleRecord());
    const after = await stat(file());
    expect(after.ino).not.toBe(before.ino);
    expect(after.mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file(), 'utf8'))).toEqual(sampleRecord());
  });

  it('replaces a symbolic link at the record’s place instead of writing through it', async () => {
    const target = join(root.dir, 'target');
    await writeFile(target, 'keep me\n', { mode: 0o644 });
    await symlink(target, file());
    expect(await readlink(file())).toBe(target);
    await saveRecord(file(), sampleRecord());
    expect(await readFile(target, 'utf8')).toBe('keep me\n');
    expect((await lstat(file())).isFile()).toBe(true);
  });
});
