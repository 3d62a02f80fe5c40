import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '#protocol';
import { includeState } from '../ssh/include.js';
import { sshPaths, type SshPaths } from '../ssh/paths.js';
import { SshSide } from '../ssh/ssh-side.js';

const run = promisify(execFile);
const uid = process.getuid!();

/** A real ed25519 public key (ssh-keygen made it), as hearthd would report a guest's host key. */
async function hostKey(dir: string, name: string): Promise<string> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
  return (await readFile(join(dir, `${name}.pub`), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
}

function environment(name: string, id: string, address: string, keys: string[], owner = uid): Environment {
  const now = new Date().toISOString();
  return {
    id,
    name,
    owner: { uid: owner },
    repository: null,
    class: 'small',
    image: 'debian-12',
    state: 'running',
    reason: null,
    desired: 'running',
    autostart: false,
    resources: { cpus: 1, memoryMiB: 1024, diskGiB: 8 },
    vmm: null,
    network: { address, hostname: `${name}.hearth`, mac: '52:54:00:00:00:05', isolated: false },
    ssh: {
      user: 'dev',
      host: address,
      port: 22,
      hostKeyAlias: `hearth-${id}`,
      hostKeys: keys.map((publicKey) => ({ type: 'ssh-ed25519', publicKey, fingerprint: 'SHA256:x' })),
    },
    provisioning: { status: 'done', stage: 'final', error: null, updatedAt: now },
    createdAt: now,
    updatedAt: now,
    startedAt: now,
    readyAt: now,
    stoppedAt: null,
  };
}

/** What ssh itself makes of the user's config for `host`: the proof the files mean what we think. */
async function resolved(paths: SshPaths, host: string): Promise<Map<string, string[]>> {
  const { stdout } = await run('ssh', ['-G', '-F', paths.userConfig, host]);
  const options = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const [key, ...value] = line.split(' ');
    if (key) options.set(key, [...(options.get(key) ?? []), value.join(' ')]);
  }
  return options;
}

describe('the user side of SSH, in a temporary home, with the real ssh-keygen and ssh -G', () => {
  let home: string;
  let keys: string;
  let paths: SshPaths;
  let environments: Environment[];
  let side: SshSide;

  beforeAll(async () => {
    // A space must survive into ssh's view of the paths.
    home = await mkdtemp(join(tmpdir(), 'hearth ssh-test-'));
    keys = await mkdtemp(join(tmpdir(), 'hearth-hostkeys-'));
    paths = sshPaths(home);
    environments = [];
    side = new SshSide({ paths, listEnvironments: () => Promise.resolve(environments), uid });
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
    await rm(keys, { recursive: true, force: true });
  });

  it('makes the key pair once, as the user, private 0600 in a 0700 directory', async () => {
    expect((await side.setup()).publicKey).toBeNull();
    const first = await side.createKey();
    expect(first.publicKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=* hearth \S+@\S+$/);
    expect((await stat(paths.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(paths.key)).mode & 0o777).toBe(0o600);
    const { stdout } = await run('ssh-keygen', ['-y', '-f', paths.key]);
    expect(first.publicKey?.startsWith(stdout.trim())).toBe(true);
    // Idempotent: a second call keeps the same key.
    expect((await side.createKey()).publicKey).toBe(first.publicKey);
    // A lost public half is derived again from the private key, which is never replaced.
    const privateKey = await readFile(paths.key, 'utf8');
    await rm(paths.publicKey);
    expect((await side.setup()).publicKey).toBeNull();
    const again = await side.createKey();
    expect(await readFile(paths.key, 'utf8')).toBe(privateKey);
    expect(again.publicKey?.split(' ').slice(0, 2)).toEqual(first.publicKey?.split(' ').slice(0, 2));
  });

  it('adds the Include at the top, after which ssh resolves <name>.hearth to the environment', async () => {
    await mkdir(join(home, '.ssh'), { mode: 0o700 });
    const own = 'Host *\n  ServerAliveInterval 30\n\nHost work\n  HostName work.example\n  User me\n';
    await writeFile(paths.userConfig, own, { mode: 0o644 });
    environments = [environment('web', 'env-00000000000a', '10.131.0.5', [await hostKey(keys, 'web')])];
    expect((await side.setup()).include).toBe('absent');

    const setup = await side.setInclude(true);
    expect(setup.include).toBe('present');
    const text = await readFile(paths.userConfig, 'utf8');
    expect(text.startsWith('# Added by Hearth')).toBe(true);
    expect(text.endsWith(own)).toBe(true);
    expect((await stat(paths.userConfig)).mode & 0o777).toBe(0o644);

    const web = await resolved(paths, 'web.hearth');
    expect(web.get('hostname')).toEqual(['10.131.0.5']);
    expect(web.get('user')).toEqual(['dev']);
    expect(web.get('port')).toEqual(['22']);
    expect(web.get('identityfile')).toEqual([paths.key]);
    expect(web.get('identitiesonly')).toEqual(['yes']);
    expect(web.get('hostkeyalias')).toEqual(['hearth-env-00000000000a']);
    expect(web.get('checkhostip')).toEqual(['no']);
    expect(web.get('stricthostkeychecking')).toEqual(['true']);
    expect(web.get('userknownhostsfile')).toEqual([paths.knownHosts]);
    // The user's own entries still mean what they meant.
    expect((await resolved(paths, 'work')).get('hostname')).toEqual(['work.example']);
    expect((await resolved(paths, 'work')).get('hostkeyalias')).toBeUndefined();

    // ssh finds the guest's key under the alias, and only there.
    const found = await run('ssh-keygen', ['-F', 'hearth-env-00000000000a', '-f', paths.knownHosts]);
    expect(found.stdout).toContain(environments[0]!.ssh!.hostKeys[0]!.publicKey);
  });

  it('is idempotent, and removing takes away exactly what it added', async () => {
    const before = await readFile(paths.userConfig, 'utf8');
    await side.setInclude(true);
    expect(await readFile(paths.userConfig, 'utf8')).toBe(before);
    expect((await side.setInclude(false)).include).toBe('absent');
    expect(await readFile(paths.userConfig, 'utf8')).toBe(
      'Host *\n  ServerAliveInterval 30\n\nHost work\n  HostName work.example\n  User me\n',
    );
    expect((await side.setInclude(false)).include).toBe('absent');
    await side.setInclude(true);
  });

  it('follows the environment list: a re-created name gets its new id and keys, others and foreign ones none', async () => {
    const newKey = await hostKey(keys, 'web2');
    environments = [
      environment('web', 'env-00000000000b', '10.131.0.7', [newKey]),
      environment('api', 'env-00000000000c', '10.131.0.8', [await hostKey(keys, 'api')]),
      environment('theirs', 'env-00000000000d', '10.131.0.9', [await hostKey(keys, 'theirs')], uid + 1),
    ];
    expect(await side.sync()).toEqual(['api.hearth', 'web.hearth']);
    expect((await resolved(paths, 'web.hearth')).get('hostkeyalias')).toEqual(['hearth-env-00000000000b']);
    expect((await resolved(paths, 'web.hearth')).get('hostname')).toEqual(['10.131.0.7']);
    const known = await readFile(paths.knownHosts, 'utf8');
    expect(known).not.toContain('hearth-env-00000000000a');
    expect(known).toContain(`hearth-env-00000000000b ${newKey}`);
    expect(known).not.toContain('hearth-env-00000000000d');
    // Not ours: ssh treats it as an ordinary unknown host.
    expect((await resolved(paths, 'theirs.hearth')).get('hostname')).toEqual(['theirs.hearth']);
    expect((await stat(paths.config)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.knownHosts)).mode & 0o777).toBe(0o600);
  });

  it('leaves out an environment whose values would not be safe in an ssh config', async () => {
    const bad = environment('web', 'env-00000000000e', '10.131.0.7', []);
    bad.ssh!.host = '10.131.0.7\n  ProxyCommand touch /tmp/pwned';
    const worse = environment('api', 'env-00000000000f', '10.131.0.8', ['ssh-ed25519 AAAA\nhearth-env-x ssh-rsa AAAA']);
    environments = [bad, worse];
    expect(await side.sync()).toEqual(['api.hearth']);
    const config = await readFile(paths.config, 'utf8');
    expect(config).not.toContain('ProxyCommand');
    expect(await readFile(paths.knownHosts, 'utf8')).not.toContain('ssh-rsa');
  });

  it('follows a symbolic link to the user config instead of replacing it', async () => {
    const real = join(home, 'dotfiles-ssh-config');
    await writeFile(real, 'Host a\n  User b\n', { mode: 0o600 });
    await rm(paths.userConfig);
    await symlink(real, paths.userConfig);
    await side.setInclude(true);
    expect((await readFile(real, 'utf8')).endsWith('Host a\n  User b\n')).toBe(true);
    expect(includeState(await readFile(real, 'utf8'), (await side.setup()).includeLine)).toBe('present');
  });
});

describe('paths ssh cannot be told', () => {
  it('refuses a home with % (a token in IdentityFile, literal in Include) instead of writing something else', async () => {
    const side = new SshSide({ paths: sshPaths('/home/50%off'), listEnvironments: () => Promise.resolve([]), uid });
    await expect(side.setup()).rejects.toThrow(/cannot be written into an ssh config/);
  });
});

describe('includeState', () => {
  const line = 'Include "/h/.config/hearth/ssh_config"';
  it('tells an Include that applies everywhere from one trapped inside a Host or Match block', () => {
    expect(includeState(null, line)).toBe('absent');
    expect(includeState(`${line}\nHost a\n`, line)).toBe('present');
    expect(includeState(`Host a\n  User b\n${line}\n`, line)).toBe('inert');
    expect(includeState(`match host x\n${line}\n`, line)).toBe('inert');
    expect(includeState(`# Host a\n${line}\n`, line)).toBe('present');
  });
});
