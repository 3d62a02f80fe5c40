import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  chown,
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthdClient } from '#protocol/client';
import { seedScratchRoot } from './support/scratch-root.js';
import { skipWhen } from '../../helper/test/support/skip.js';
import { eventually } from '../../helper/test/support/eventually.js';

/**
 * hearth-install.sh, run for real into a scratch root (--root): what it installs, with which
 * modes and owners; that the unit passes systemd-analyze verify; that the installed hearthd runs
 * from there; that a second install changes nothing; that uninstall removes all it added.
 */
const repo = join(import.meta.dirname, '..', '..');
const SCRIPT = join(repo, 'assets', 'linux', 'hearth-install.sh');
const BUNDLE = join(repo, 'dist', 'helper', 'hearthd.mjs');
/** hearthd's native module: the script takes it from beside the bundle it installs. */
const KOFFI = join(repo, 'dist', 'helper', 'koffi.node');
/** The `hearth` command as `npm run build` bundles it (first line #!/usr/lib/hearth/node). */
const CLI = join(repo, 'dist', 'cli', 'hearth.cjs');
const run = promisify(execFile);

const isRoot = process.getuid?.() === 0;
const tools = ['systemd-sysusers', 'systemd-tmpfiles', 'systemd-analyze', 'gpasswd', 'setfacl', 'getfacl'];
const missingTools = tools.filter((t) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
});
const skipReason = !isRoot
  ? 'the install script creates root-owned files, users and groups: run the tests as root (CI does)'
  : missingTools.length > 0
    ? `missing ${missingTools.join(', ')} (apt-get install systemd acl passwd)`
    : undefined;
if (skipReason !== undefined) console.warn(`SKIPPED install-script tests: ${skipReason}`);

interface Entry {
  type: string;
  mode: string;
  owner: string;
  content?: string;
  mtimeMs: number;
}

/** getfacl output → entry ("user:1000", "group:", "other") → rights after the mask. */
function effectiveRights(acl: string): Record<string, string> {
  const rights: Record<string, string> = {};
  for (const line of acl.split('\n')) {
    const match = /^(user|group|other|mask):([^:]*):([rwx-]{3})(?:\s+#effective:([rwx-]{3}))?$/.exec(line.trim());
    if (!match) continue;
    const [, kind = '', name = '', perms = '', effective] = match;
    rights[kind === 'other' || kind === 'mask' ? kind : `${kind}:${name}`] = effective ?? perms;
  }
  return rights;
}

/** Every path below `root` with type, mode, owner, content hash and mtime; shadow-utils' backups and lock ignored. */
async function snapshot(root: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  const walk = async (dir: string) => {
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      const rel = path.slice(root.length);
      if (/^\/etc\/(\.pwd\.lock|[a-z]+-)$/.test(rel)) continue;
      if (rel.startsWith('/usr/lib/systemd/system')) continue; // the seed's copy of the host's units
      const st = await lstat(path);
      const entry: Entry = {
        type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isSocket() ? 'socket' : 'file',
        mode: (st.mode & 0o7777).toString(8),
        owner: `${st.uid}:${st.gid}`,
        mtimeMs: st.mtimeMs,
      };
      if (st.isFile())
        entry.content = createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
      if (st.isSymbolicLink()) entry.content = await readlink(path);
      out.set(rel, entry);
      if (st.isDirectory()) await walk(path);
    }
  };
  await walk(root);
  return out;
}

const seedRoot = () => seedScratchRoot('hearth-root-', { systemdUnits: true });

function install(root: string, ...extra: string[]): Promise<{ stdout: string; stderr: string }> {
  return installWithEnv(process.env, root, ...extra);
}

function installWithEnv(
  env: NodeJS.ProcessEnv,
  root: string,
  ...extra: string[]
): Promise<{ stdout: string; stderr: string }> {
  return run(
    '/bin/bash',
    [
      SCRIPT,
      'install',
      '--root',
      root,
      '--user',
      'alice',
      '--hearthd',
      BUNDLE,
      '--node',
      process.execPath,
      '--cli',
      CLI,
      '--version',
      '0.1.0',
      ...extra,
    ],
    { env },
  );
}

const results = (stdout: string): Record<string, string> =>
  Object.fromEntries([...stdout.matchAll(/^::result (\S+) (\S+)/gm)].map((m): [string, string] => [m[1]!, m[2]!]));

// Install, re-run, upgrade, uninstall: steps of one story in one scratch root, kept in order
// under --sequence.shuffle (the file still runs alone).
describe('hearth-install.sh in a scratch root', { ...skipWhen(skipReason), shuffle: false }, () => {
  let root: string;
  let seed: Map<string, Entry>;
  let first: { stdout: string };

  beforeAll(async () => {
    root = await seedRoot();
    seed = await snapshot(root);
    first = await install(root);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reports every step, in order, and finishes', () => {
    const steps = [...first.stdout.matchAll(/^::step (\S+)/gm)].map((m) => m[1]);
    expect(steps).toEqual(['preflight', 'users', 'files', 'unit', 'runtime', 'access', 'service', 'socket']);
    expect(first.stdout).toContain('::done install');
    expect(results(first.stdout)).toMatchObject({ users: 'changed', files: 'changed', socket: 'skipped' });
  });

  it('installs root-owned files with the right modes', async () => {
    const after = await snapshot(root);
    const expectFile = (path: string, mode: string, type = 'file') =>
      expect({ path, ...after.get(path) }).toMatchObject({ path, type, mode, owner: '0:0' });
    expectFile('/usr/lib/hearth', '755', 'dir');
    expectFile('/usr/lib/hearth/node', '755');
    expectFile('/usr/lib/hearth/hearthd.mjs', '644');
    expectFile('/usr/lib/hearth/koffi.node', '644');
    expectFile('/usr/lib/hearth/hearth', '755');
    expectFile('/usr/lib/hearth/installed.env', '644');
    expectFile('/etc/systemd/system/hearthd.service', '644');
    expectFile('/etc/sysusers.d/hearth.conf', '644');
    expectFile('/etc/tmpfiles.d/hearth.conf', '644');
    expect(after.get('/etc/systemd/system/multi-user.target.wants/hearthd.service')).toMatchObject({
      type: 'link',
      content: '/etc/systemd/system/hearthd.service',
    });
    const sha = async (p: string) =>
      createHash('sha256')
        .update(await readFile(p))
        .digest('hex');
    expect(after.get('/usr/lib/hearth/hearthd.mjs')?.content).toBe(await sha(BUNDLE));
    expect(after.get('/usr/lib/hearth/koffi.node')?.content).toBe(await sha(KOFFI));
    expect(after.get('/usr/lib/hearth/hearth')?.content).toBe(await sha(CLI));
    expect((await readFile(join(root, 'usr/lib/hearth/hearth'), 'utf8')).split('\n', 1)[0]).toBe(
      '#!/usr/lib/hearth/node',
    );
    expect(after.get('/etc/systemd/system/hearthd.service')?.content).toBe(
      await sha(join(repo, 'assets/linux/hearthd.service')),
    );
    expect(await readFile(join(root, 'usr/lib/hearth/installed.env'), 'utf8')).toMatch(/^HEARTH_VERSION=0\.1\.0$/m);
  });

  it('creates the hearth group (with alice), the hearth-vmm user (in kvm, not in hearth) and hearth-git (in neither)', async () => {
    const group = await readFile(join(root, 'etc/group'), 'utf8');
    const passwd = await readFile(join(root, 'etc/passwd'), 'utf8');
    expect(group).toMatch(/^hearth:x:\d+:alice$/m);
    expect(group).toMatch(/^kvm:x:992:hearth-vmm$/m);
    expect(passwd).toMatch(/^hearth-vmm:x:\d+:\d+:Hearth VM processes:\/var\/lib\/hearth:\/usr\/sbin\/nologin$/m);
    expect(passwd).toMatch(/^hearth-git:x:\d+:\d+:Hearth repository access checks:\/:\/usr\/sbin\/nologin$/m);
    expect(group).not.toMatch(/^(hearth|kvm):.*hearth-git/m);
    const gid = /^hearth:x:(\d+):/m.exec(group)![1];
    const runtime = await lstat(join(root, 'run/hearth'));
    expect({ mode: (runtime.mode & 0o777).toString(8), uid: runtime.uid, gid: String(runtime.gid) }).toEqual({
      mode: '750',
      uid: 0,
      gid,
    });
    const acl = execFileSync('getfacl', ['-n', '-c', join(root, 'run/hearth')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(acl).toContain('user:1000:r-x');
    expect(acl).toContain('default:user:1000:rw-');
    // The default group entry must not cap what the socket's mode gives the group.
    expect(acl).toContain('default:group::rwx');
  });

  it('installs a unit that passes systemd-analyze verify', async () => {
    const { stdout, stderr } = await run('systemd-analyze', [
      'verify',
      `--root=${root}`,
      '/etc/systemd/system/hearthd.service',
    ]);
    expect(`${stdout}${stderr}`.trim()).toBe('');
  });

  it('runs the installed hearthd, as the unit starts it, and alice may use its socket', async () => {
    const unit = await readFile(join(root, 'etc/systemd/system/hearthd.service'), 'utf8');
    const argv = /^ExecStart=(.+)$/m
      .exec(unit)![1]!
      .split(/\s+/)
      .map((arg) => (arg.startsWith('/') ? join(root, arg) : arg));
    expect(argv[0]).toBe(join(root, 'usr/lib/hearth/node'));
    expect(argv.filter((arg) => arg.startsWith(root))[1]).toBe(join(root, 'usr/lib/hearth/hearthd.mjs'));
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout.on('data', (c: Buffer) => output.push(c.toString()));
    child.stderr.on('data', (c: Buffer) => output.push(c.toString()));
    const socket = join(root, 'run/hearth/hearthd.sock');
    const client = new HearthdClient(socket);
    try {
      const version = await eventually(() => client.call('getVersion'), {
        what: 'the installed hearthd to serve',
        timeoutMs: 10_000,
        context: () => output.join(''),
      });
      expect(version, output.join('')).toMatchObject({ hearthd: '0.1.0', api: 'v1' });
      // The default ACL on /run/hearth reached the socket hearthd created: access before re-login.
      const acl = execFileSync('getfacl', ['-n', '-c', socket], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      // Effective rights (the mask applied): the group and alice may both connect, nobody else.
      expect(effectiveRights(acl)).toMatchObject({ 'user:1000': 'rw-', 'group:': 'rw-', other: '---' });
    } finally {
      await client.close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('changes nothing when run a second time', async () => {
    const before = await snapshot(root);
    const second = await install(root);
    const after = await snapshot(root);
    expect(Object.values(results(second.stdout)).every((r) => r === 'unchanged' || r === 'skipped')).toBe(true);
    expect(after).toEqual(before);
  });

  it('upgrades when the app ships a different hearthd, touching only what changed', async () => {
    const shipped = `${root}-newer`;
    const newer = join(shipped, 'hearthd.mjs');
    await mkdir(shipped);
    await writeFile(newer, `${await readFile(BUNDLE, 'utf8')}\n// newer\n`);
    await copyFile(KOFFI, join(shipped, 'koffi.node'));
    try {
      const before = await snapshot(root);
      const upgrade = await install(root, '--hearthd', newer, '--version', '0.2.0');
      const after = await snapshot(root);
      expect(results(upgrade.stdout)).toMatchObject({ files: 'changed', unit: 'unchanged', users: 'unchanged' });
      const changed = [...after.keys()].filter((k) => JSON.stringify(after.get(k)) !== JSON.stringify(before.get(k)));
      expect(changed.sort()).toEqual([
        '/usr/lib/hearth',
        '/usr/lib/hearth/hearthd.mjs',
        '/usr/lib/hearth/installed.env',
      ]);
      await install(root); // back to the bundle, for the uninstall test
    } finally {
      await rm(shipped, { recursive: true, force: true });
    }
  });

  it('refuses to install a hearthd without its native module beside it, changing nothing', async () => {
    const shipped = `${root}-incomplete`;
    await mkdir(shipped);
    await copyFile(BUNDLE, join(shipped, 'hearthd.mjs'));
    try {
      const before = await snapshot(root);
      const failed = await install(root, '--hearthd', join(shipped, 'hearthd.mjs')).then(
        () => undefined,
        (error: unknown) => error as { code: number; stdout: string },
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stdout).toMatch(
        /^::fail preflight hearthd's native module not found at .*-incomplete\/koffi\.node/m,
      );
      expect(await snapshot(root)).toEqual(before);
    } finally {
      await rm(shipped, { recursive: true, force: true });
    }
  });

  it('uninstall keeps data unless asked, and --purge leaves the root exactly as it was', async () => {
    await mkdir(join(root, 'var/lib/hearth/environments'), { recursive: true });
    const keep = await run('/bin/bash', [SCRIPT, 'uninstall', '--root', root]);
    expect(keep.stdout).toContain('::result data skipped');
    const kept = await snapshot(root);
    // Data stays: /var/lib/hearth as it was (an earlier test imported an image into it too).
    const added = [...kept.keys()].filter((k) => !seed.has(k)).sort();
    expect(added).toEqual(expect.arrayContaining(['/var/lib/hearth', '/var/lib/hearth/environments']));
    expect(added.filter((k) => !k.startsWith('/var/lib/hearth'))).toEqual([]);

    await install(root);
    const purge = await run('/bin/bash', [SCRIPT, 'uninstall', '--root', root, '--purge']);
    expect(purge.stdout).toContain('::done uninstall');
    const after = await snapshot(root);
    const strip = (m: Map<string, Entry>) =>
      new Map([...m].map(([k, entry]) => [k, { ...entry, mtimeMs: 0, ...(k.startsWith('/etc/') && { content: '' }) }]));
    expect(strip(after)).toEqual(strip(seed));
    // Accounts: back to the seed's, line for line.
    expect(await readFile(join(root, 'etc/group'), 'utf8')).toBe('root:x:0:\nkvm:x:992:\nalice:x:1000:\n');
    expect(await readFile(join(root, 'etc/passwd'), 'utf8')).toBe(
      'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n',
    );
  });

  it("mirrors all output to --progress with the caller's identity, never root's", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-progress-'));
    try {
      await chown(dir, 65534, 65534);
      await chmod(dir, 0o700);
      const file = join(dir, 'progress.log');
      await writeFile(file, '');
      await chown(file, 65534, 65534);
      const env = { ...process.env, PKEXEC_UID: '65534' };
      const { stdout } = await installWithEnv(env, root, '--progress', file);
      expect(await readFile(file, 'utf8')).toBe(stdout);
      expect((await lstat(file)).uid).toBe(65534);
      // A path the caller may not write stays untouched, though the script runs as root.
      const forbidden = join(root, 'etc', 'progress-by-root.log');
      await installWithEnv(env, root, '--progress', forbidden);
      await expect(lstat(forbidden)).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a hearth command that would not run on the installed runtime, changing nothing', async () => {
    const shipped = `${root}-foreign-cli`;
    await mkdir(shipped);
    await writeFile(join(shipped, 'hearth.cjs'), `#!/usr/bin/env node\n${await readFile(CLI, 'utf8')}`);
    try {
      const before = await snapshot(root);
      const failed = await install(root, '--cli', join(shipped, 'hearth.cjs')).then(
        () => undefined,
        (error: unknown) => error as { code: number; stdout: string },
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stdout).toMatch(
        /^::fail preflight the hearth command at .* does not start with #!\/usr\/lib\/hearth\/node/m,
      );
      expect(await snapshot(root)).toEqual(before);
    } finally {
      await rm(shipped, { recursive: true, force: true });
    }
  });

  it('refuses to install below a directory others can write', async () => {
    const unsafe = await seedRoot();
    try {
      await mkdir(join(unsafe, 'usr/lib'), { recursive: true });
      await chmod(join(unsafe, 'usr/lib'), 0o777);
      const failed = await install(unsafe).then(
        () => undefined,
        (error: unknown) => error as { code: number; stdout: string },
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stdout).toMatch(/^::fail preflight .*usr\/lib is writable by group or others/m);
      expect((await snapshot(unsafe)).has('/usr/lib/hearth')).toBe(false);
    } finally {
      await rm(unsafe, { recursive: true, force: true });
    }
  });
});

const runScript = (...args: string[]) =>
  run('/bin/bash', [SCRIPT, ...args]).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: unknown) => error as { code: number; stdout: string },
  );

// The `hearth` command on PATH: the AppImage's link (/usr/local/bin, the default) and the
// packages' (/usr/bin), made and removed by the real script in a root of its own.
describe('hearth-install.sh link-cli and unlink-cli', { ...skipWhen(skipReason), shuffle: false }, () => {
  let root: string;
  const link = () => join(root, 'usr/local/bin/hearth');

  beforeAll(async () => {
    root = await seedRoot();
    await mkdir(join(root, 'usr/local/bin'), { recursive: true, mode: 0o755 });
    await mkdir(join(root, 'usr/bin'), { recursive: true, mode: 0o755 });
    await install(root);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('links /usr/local/bin/hearth to the installed command, and a second run changes nothing', async () => {
    const first = await runScript('link-cli', '--root', root);
    expect(first.stdout).toMatch(/^::step link /m);
    expect(first.stdout).toMatch(/^::result link changed \/usr\/local\/bin\/hearth -> \/usr\/lib\/hearth\/hearth$/m);
    expect(first.stdout).toContain('::done link-cli');
    const st = await lstat(link());
    expect({ link: st.isSymbolicLink(), uid: st.uid, target: await readlink(link()) }).toEqual({
      link: true,
      uid: 0,
      target: '/usr/lib/hearth/hearth',
    });
    // What the link reaches, inside the root: the command, root-owned 0755.
    const command = await lstat(join(root, 'usr/lib/hearth/hearth'));
    expect({ mode: (command.mode & 0o7777).toString(8), uid: command.uid }).toEqual({ mode: '755', uid: 0 });
    const before = await snapshot(root);
    expect((await runScript('link-cli', '--root', root)).stdout).toMatch(/^::result link unchanged /m);
    expect(await snapshot(root)).toEqual(before);
  });

  it("never replaces a file or link that is not Hearth's, and unlink-cli leaves it alone", async () => {
    const other = join(root, 'usr/bin/hearth');
    await writeFile(other, '#!/bin/sh\necho another hearth\n', { mode: 0o755 });
    const refused = await runScript('link-cli', '--root', root, '--link', '/usr/bin/hearth');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(
      /^::fail link \/usr\/bin\/hearth already exists \(regular file\) and is not Hearth's: refusing to replace it$/m,
    );
    const kept = await runScript('unlink-cli', '--root', root, '--link', '/usr/bin/hearth');
    expect(kept.stdout).toMatch(/^::result unlink skipped \/usr\/bin\/hearth is not Hearth's link; left alone$/m);
    expect(await readFile(other, 'utf8')).toContain('another hearth');
    await rm(other);
    await symlink('/opt/elsewhere/hearth', other);
    expect((await runScript('link-cli', '--root', root, '--link', '/usr/bin/hearth')).stdout).toMatch(
      /^::fail link .* \(a link to \/opt\/elsewhere\/hearth\) and is not Hearth's/m,
    );
    expect(await readlink(other)).toBe('/opt/elsewhere/hearth');
    await rm(other);
    // Nowhere but the two places: --link is never a path of the caller's choosing.
    const elsewhere = await runScript('link-cli', '--root', root, '--link', '/tmp/hearth');
    expect(elsewhere.code).toBe(64);
  });

  it('links /usr/bin/hearth for the packages, and unlink-cli removes exactly that link', async () => {
    await runScript('link-cli', '--root', root, '--link', '/usr/bin/hearth');
    expect(await readlink(join(root, 'usr/bin/hearth'))).toBe('/usr/lib/hearth/hearth');
    const removed = await runScript('unlink-cli', '--root', root, '--link', '/usr/bin/hearth');
    expect(removed.stdout).toMatch(/^::result unlink changed removed \/usr\/bin\/hearth$/m);
    await expect(lstat(join(root, 'usr/bin/hearth'))).rejects.toThrow();
    expect(await readlink(link())).toBe('/usr/lib/hearth/hearth');
    expect((await runScript('unlink-cli', '--root', root, '--link', '/usr/bin/hearth')).stdout).toMatch(
      /^::result unlink unchanged no \/usr\/bin\/hearth$/m,
    );
  });

  it('uninstall removes the command and its /usr/local/bin link, and nothing else there', async () => {
    await writeFile(join(root, 'usr/local/bin/other-tool'), '#!/bin/sh\n', { mode: 0o755 });
    const out = await runScript('uninstall', '--root', root);
    expect(out.stdout).toContain('::done uninstall');
    await expect(lstat(join(root, 'usr/lib/hearth/hearth'))).rejects.toThrow();
    await expect(lstat(link())).rejects.toThrow();
    expect(await readdir(join(root, 'usr/local/bin'))).toEqual(['other-tool']);
  });
});
