import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HostKeysComponent } from '../src/environments/components/host-keys.js';
import { SeedComponent, SEED_FILE } from '../src/environments/components/seed.js';
import type { ComponentContext } from '../src/environments/components/component.js';
import { layoutOf } from '../src/environments/layout.js';
import type { ComponentStates, Spec } from '../src/environments/record.js';
import { AGENT_SCRIPT, AGENT_UNIT_PATH } from '../src/guest/agent-script.js';
import { hostKeyFile } from '../src/guest/host-keys.js';
import { SSHD_DROP_IN, SSHD_SETTINGS, TEST_FAILURE_TEXT } from '../src/guest/user-data.js';
import { ImageStore } from '../src/images/image-store.js';
import { createLogger } from '../src/log.js';
import { sampleRecord } from './support/records.js';

const tools = {
  mkfsFat: () => Promise.resolve('/usr/sbin/mkfs.fat'),
  mtools: () => Promise.resolve('/usr/bin/mtools'),
};
/** A key whose comment is full of YAML syntax: it must arrive as one string, nothing more. */
const OWNER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm5Ijb8mS3n7j0K1q2w3e4r5t6y7u8i9o0p1a2s3d4f me: {x: 1} # - [y]';

function mtype(seed: string, name: string): string {
  return execFileSync('/usr/bin/mtools', ['-c', 'mtype', '-i', seed, `::${name}`], {
    encoding: 'utf8',
    env: { MTOOLS_SKIP_CHECK: '1' },
  });
}

describe('the NoCloud seed (components/seed.ts) with real mkfs.fat, mtools and ssh-keygen', () => {
  let dir: string;
  let images: ImageStore;
  let spec: Spec;
  let ctx: ComponentContext;
  /** The components' stored state, as the record keeps it (the host-keys component fills it). */
  const state: ComponentStates = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-seed-'));
    images = new ImageStore(join(dir, 'images'));
    for (const [name, provisioning] of [
      ['cloudy', 'cloud-init'],
      ['plain', 'none'],
    ] as const) {
      await mkdir(join(dir, 'images', name), { recursive: true });
      const manifest = { name, kernel: null, initrd: null, disk: 'disk.qcow2', cmdline: '', readyMarker: null };
      await writeFile(
        join(dir, 'images', name, 'manifest.json'),
        JSON.stringify({ ...manifest, installedAt: new Date().toISOString(), bootMode: 'firmware', provisioning }),
      );
    }
    spec = { ...sampleRecord().spec, image: 'cloudy', sshPublicKey: OWNER_KEY };
    const layout = layoutOf(join(dir, 'state'), join(dir, 'run'), spec.id);
    await mkdir(layout.stateDir, { recursive: true });
    ctx = {
      spec,
      state,
      layout,
      vmmUser: undefined,
      vmmOpensFiles: false,
      log: createLogger('silent', { write: () => undefined }),
      journal: () => Promise.resolve(),
    };
    const image = (await images.get('cloudy'))!;
    await new HostKeysComponent(() => Promise.resolve('/usr/bin/ssh-keygen')).init(ctx, { image, isolated: false });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('host keys: private halves root-only in the state directory, fingerprints as ssh-keygen -l prints them', async () => {
    expect(state.hostKeys!.map((k) => k.type)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
    for (const [i, type] of (['ed25519', 'ecdsa'] as const).entries()) {
      const file = hostKeyFile(ctx.layout.stateDir, type);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const listed = execFileSync('ssh-keygen', ['-l', '-f', file], { encoding: 'utf8' });
      expect(listed).toContain(state.hostKeys![i]!.fingerprint);
      expect(state.hostKeys![i]!.publicKey).toMatch(/^(ssh-ed25519|ecdsa-sha2-nistp256) [A-Za-z0-9+/]+=*$/);
    }
  });

  it('is a read-only-to-others FAT image labelled CIDATA with meta-data, network-config and user-data', async () => {
    const made = await new SeedComponent(images, tools).prepare(ctx);
    const seed = join(ctx.layout.stateDir, SEED_FILE);
    expect(made).toEqual({ devices: [{ kind: 'seed', path: seed }, { kind: 'guest-channel' }] });
    expect((await stat(seed)).mode & 0o777).toBe(0o600);
    expect(execFileSync('blkid', ['-o', 'value', '-s', 'LABEL', seed], { encoding: 'utf8' }).trim()).toBe('CIDATA');
    // Nothing staged is left beside it.
    expect((await readdir(ctx.layout.stateDir)).filter((f) => f.startsWith('seed'))).toEqual([SEED_FILE]);

    expect(parse(mtype(seed, 'meta-data'))).toEqual({ 'instance-id': spec.id, 'local-hostname': 'web' });
    // No network component yet: the seed names no NIC.
    expect(parse(mtype(seed, 'network-config'))).toEqual({ version: 2, ethernets: {} });

    const text = mtype(seed, 'user-data');
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const userData = parse(text) as Record<string, unknown>;
    expect(userData.users).toEqual([
      {
        name: 'dev',
        gecos: 'Hearth developer',
        shell: '/bin/bash',
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        lock_passwd: true,
        ssh_authorized_keys: [OWNER_KEY],
      },
    ]);
    expect(userData).toMatchObject({
      disable_root: true,
      ssh_deletekeys: true,
      ssh_genkeytypes: [],
    });
    const keys = userData.ssh_keys as Record<string, string>;
    expect(Object.keys(keys).sort()).toEqual(['ecdsa_private', 'ecdsa_public', 'ed25519_private', 'ed25519_public']);
    expect(keys.ed25519_public).toBe(state.hostKeys![0]!.publicKey);
    expect(keys.ed25519_private).toContain('BEGIN OPENSSH PRIVATE KEY');
    // The agent starts from bootcmd (cloud-init's first networked stage), not runcmd (its last):
    // the script is an argument of its own, never pasted into shell text.
    const bootcmd = userData.bootcmd as string[][];
    expect(bootcmd).toHaveLength(1);
    expect(bootcmd[0]!.slice(0, 2)).toEqual(['sh', '-c']);
    expect(bootcmd[0]![2]).toContain(`[ -e ${AGENT_UNIT_PATH} ] && exit 0`);
    expect(bootcmd[0]![2]).toContain(`systemd-run --no-block --unit=hearth-agent.service`);
    expect(bootcmd[0]![2]).not.toContain('import ');
    expect(bootcmd[0]![4]).toBe(AGENT_SCRIPT);
    // No password logins from sshd's first start; never ssh_pwauth, which restarts sshd later.
    expect(userData.write_files).toEqual([
      { path: SSHD_DROP_IN, owner: 'root:root', permissions: '0644', content: SSHD_SETTINGS },
    ]);
    expect(SSHD_SETTINGS).toMatch(/^PasswordAuthentication no$/m);
    expect(userData).not.toHaveProperty('ssh_pwauth');
    expect(userData).not.toHaveProperty('runcmd');
  });

  it('is rebuilt at each prepare with the same instance id, and follows a changed MAC', async () => {
    const seed = join(ctx.layout.stateDir, SEED_FILE);
    state.network = { host: 7, mac: '52:54:00:12:34:56', isolated: false };
    await new SeedComponent(images, tools).prepare(ctx);
    expect(parse(mtype(seed, 'meta-data'))).toMatchObject({ 'instance-id': spec.id });
    expect(parse(mtype(seed, 'network-config'))).toEqual({
      version: 2,
      ethernets: { primary: { match: { macaddress: '52:54:00:12:34:56' }, dhcp4: true, dhcp6: false } },
    });
    delete state.network;
  });

  it('adds the failing step only for the environment named by --test-provision-fail', async () => {
    const seed = join(ctx.layout.stateDir, SEED_FILE);
    await new SeedComponent(images, tools, 'other').prepare(ctx);
    expect(mtype(seed, 'user-data')).not.toContain(TEST_FAILURE_TEXT);
    await new SeedComponent(images, tools, 'web').prepare(ctx);
    expect(mtype(seed, 'user-data')).toContain(TEST_FAILURE_TEXT);
  });

  it('makes nothing for an image without provisioning, and destroy removes the seed', async () => {
    const component = new SeedComponent(images, tools);
    expect(await component.prepare({ ...ctx, spec: { ...spec, image: 'plain' } })).toEqual({});
    await component.destroy(ctx);
    expect((await readdir(ctx.layout.stateDir)).filter((f) => f.startsWith('seed'))).toEqual([]);
  });
});
