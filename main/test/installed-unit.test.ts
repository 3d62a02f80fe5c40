import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '#protocol';
import { inNs, Namespaces } from '../../helper/test/network/support/topology.js';
import { DEBIAN_IMAGE_CACHE, installDebianImage } from '../../helper/test/support/debian-image.js';
import { ensureTestGuest } from '../../helper/test/support/test-guest.js';
import {
  api,
  apiOk,
  capabilityMask,
  journal,
  pidsOfUid,
  processStatus,
  runInstallScript,
  snapshot,
  waitForState,
} from './support/installed-hearthd.js';
import { NspawnMachine, stageDir } from './support/nspawn-machine.js';
import { ensureNodeRuntime, ensureNspawnTree, missingHostTools } from './support/nspawn-tree.js';
import { skipWhen } from '../../helper/test/support/skip.js';
import { eventually } from '../../helper/test/support/eventually.js';

/**
 * The installed service, for real: a Debian bookworm machine booted with systemd-nspawn (real
 * systemd as PID 1), hearthd installed by the real hearth-install.sh (its live branches:
 * systemctl enable/start/restart/stop/disable), the real unit with its whole sandbox, and a
 * QEMU TCG VM created, booted, stopped and deleted through the socket by a `hearth` member.
 * Then an upgrade with a VM running, and `uninstall --purge`.
 */
const repo = join(import.meta.dirname, '..', '..');
const ASSETS = join(repo, 'assets', 'linux');
const UNIT = join(ASSETS, 'hearthd.service');
const BUNDLE = join(repo, 'dist', 'helper', 'hearthd.mjs');
const PKG = '/opt/hearth-helper';
/** Where the deb and rpm put hearth-helper/ (electron-builder.yml extraResources): their maintainer scripts run from here. */
const PACKAGED = '/opt/Hearth/resources/hearth-helper';
const MAINTAINER_SCRIPTS = join(repo, 'build-resources', 'linux');
const CLI = join(repo, 'dist', 'cli', 'hearth.cjs');
const GUEST = '/opt/test-guest';
const IMAGE_CACHE = '/opt/image-cache';
const ALICE = { user: 'alice' };
const ROOT = {};

const isRoot = process.getuid?.() === 0;
const missing = isRoot ? await missingHostTools() : [];
const skipReason = !isRoot
  ? 'systemd-nspawn and the install script need root: run the tests as root (CI does)'
  : missing.length > 0
    ? `missing ${missing.join(', ')}`
    : undefined;
if (skipReason !== undefined) console.warn(`SKIPPED installed-unit test: ${skipReason}`);

const log = (line: string) => process.stdout.write(`installed-unit: ${line}\n`);

describe('the installed hearthd unit, in a machine booted with systemd-nspawn', skipWhen(skipReason), () => {
  let machine: NspawnMachine | undefined;
  const staged: string[] = [];
  let before: Map<string, string>;
  let aliceUid: number;
  let vmmUid: number;
  /** The local Debian build's cache entry (its key), which the networked-guest test imports. */
  let debianBuild: string | undefined;
  /** The VMM left running by the upgrade test, which uninstall must stop. */
  let runningVmm: number | undefined;
  const m = () => {
    if (!machine) throw new Error('the machine did not boot (see beforeAll)');
    return machine;
  };

  beforeAll(async () => {
    const { version } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string };
    let t = Date.now();
    const { tree, packages } = await ensureNspawnTree(log);
    log(`tree ready in ${Date.now() - t} ms (systemd ${packages.systemd}, qemu ${packages['qemu-system-x86']})`);
    const node = await ensureNodeRuntime(log);
    const guest = await ensureTestGuest();
    // The local Debian image, built (or found) in its cache outside the clone; the machine's
    // installer imports it from there, as on a user's machine.
    const scratch = await mkdtemp(join(tmpdir(), 'hearth-debian-'));
    await installDebianImage({ stateDir: scratch });
    await rm(scratch, { recursive: true, force: true });
    debianBuild = (await readdir(DEBIAN_IMAGE_CACHE)).find((name) => /^[0-9a-f]{64}$/.test(name));
    // What the packages ship in hearth-helper/ (electron-builder.yml extraResources), twice: the
    // release installed first, and an upgrade whose hearthd differs.
    const files = (hearthd: string) => ({
      'hearth-install.sh': join(ASSETS, 'hearth-install.sh'),
      'hearthd.service': UNIT,
      'hearth-sysusers.conf': join(ASSETS, 'hearth-sysusers.conf'),
      'hearth-tmpfiles.conf': join(ASSETS, 'hearth-tmpfiles.conf'),
      'hearthd.mjs': hearthd,
      'koffi.node': join(dirname(BUNDLE), 'koffi.node'),
      'hearth.cjs': CLI,
      node,
    });
    const v1 = await stageDir('hearth-helper-v1-', files(BUNDLE));
    staged.push(v1);
    await appendFile(join(v1, 'VERSION'), `${version}\n`);
    const v2 = await stageDir('hearth-helper-v2-', files(BUNDLE));
    staged.push(v2);
    await appendFile(join(v2, 'hearthd.mjs'), '\n// the upgrade the installed-unit test installs\n');
    await appendFile(join(v2, 'VERSION'), `${version}-upgrade\n`);

    t = Date.now();
    machine = await NspawnMachine.boot({
      tree,
      binds: [
        { host: v1, container: PKG },
        { host: v2, container: `${PKG}-upgrade` },
        { host: v1, container: PACKAGED },
        { host: MAINTAINER_SCRIPTS, container: '/opt/hearth-package-scripts' },
        { host: dirname(guest.kernel), container: GUEST },
        { host: DEBIAN_IMAGE_CACHE, container: IMAGE_CACHE },
      ],
      log,
    });
    log(`booted to running in ${machine.bootMs} ms (${Date.now() - t} ms with the overlay)`);
    await machine.ok(['useradd', '--create-home', '--uid', '1000', '--user-group', 'alice']);
    await machine.ok(['useradd', '--create-home', '--uid', '1001', '--user-group', 'bob']);
    aliceUid = 1000;
    before = await snapshot(machine, ['/etc', '/usr', '/var', '/opt', '/home', '/root', '/run']);
  }, 900_000);

  afterAll(async () => {
    const t = Date.now();
    await machine?.dispose();
    if (machine) log(`machine torn down in ${Date.now() - t} ms`);
    for (const dir of staged) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('installs with the real script: users, files, unit enabled and started, socket answering', async () => {
    // The machine is a minimal Debian: no procps, so the script must do without pgrep/pkill.
    expect((await m().exec(['which', 'pgrep'])).exitCode).not.toBe(0);
    const t = Date.now();
    const install = await runInstallScript(m(), `${PKG}/hearth-install.sh`, ['install', '--user', 'alice']);
    log(`install took ${Date.now() - t} ms`);
    expect(install.exitCode, `${install.output}\nhearthd's journal:\n${await journal(m())}`).toBe(0);
    expect(install.steps).toEqual(['preflight', 'users', 'files', 'unit', 'runtime', 'access', 'service', 'socket']);
    expect(install.results).toMatchObject({
      users: 'changed',
      files: 'changed',
      unit: 'changed',
      access: 'changed',
      service: 'changed',
      socket: 'unchanged',
    });
    expect(install.done).toBe(true);
    expect((await m().exec(['systemctl', 'is-active', 'hearthd'])).stdout.trim()).toBe('active');
    expect((await m().exec(['systemctl', 'is-enabled', 'hearthd'])).stdout.trim()).toBe('enabled');
    vmmUid = Number((await m().ok(['id', '-u', 'hearth-vmm'])).trim());
    expect(await m().ok(['id', '-nG', 'alice'])).toMatch(/\bhearth\b/);
  }, 300_000);

  it("runs hearthd inside the unit's sandbox, and this systemd accepts every directive", async () => {
    const verify = await m().exec(['systemd-analyze', 'verify', '/etc/systemd/system/hearthd.service']);
    expect(`${verify.stdout}${verify.stderr}`.trim()).toBe('');
    const pid = Number((await m().ok(['systemctl', 'show', '-P', 'MainPID', 'hearthd'])).trim());
    const status = await processStatus(m(), pid);
    const unit = await readFile(UNIT, 'utf8');
    const bounding = /^CapabilityBoundingSet=(.*)$/m.exec(unit)![1]!.split(/\s+/);
    expect(BigInt(`0x${status?.CapBnd}`)).toBe(capabilityMask(bounding));
    expect(status).toMatchObject({ Uid: expect.stringMatching(/^0\s/), NoNewPrivs: '1', Seccomp: '2' });
    // ProtectSystem=strict: /usr is read-only in hearthd's mount namespace, though hearthd is root.
    const write = await m().exec(['nsenter', '-t', String(pid), '-m', '--', 'touch', '/usr/lib/hearth/probe']);
    expect(write.stderr).toMatch(/Read-only file system/);
  }, 60_000);

  it('lets a hearth member use the socket (by group or by ACL) and nobody else', async () => {
    for (const as of [ALICE, { ...ALICE, clearGroups: true }]) {
      const version = await api(m(), as, 'GET', '/v1/version');
      expect(version, JSON.stringify(as)).toMatchObject({ status: 200, body: { api: 'v1' } });
    }
    const bob = await api(m(), { user: 'bob' }, 'GET', '/v1/version');
    expect(bob.status).toBe(0);
    expect(bob.curlError).toMatch(/Permission denied|Couldn't connect/i);
  }, 60_000);

  it('the hearth command: installed beside hearthd, linked as /usr/bin/hearth by the package, run by a member', async () => {
    const mode = await m().ok(['stat', '-c', '%a %u %g', '/usr/lib/hearth/hearth']);
    expect(mode.trim()).toBe('755 0 0');
    // The deb postinst / rpm %post, as the package manager runs it (hearthd is already installed: unchanged).
    const postinst = await m().exec(['sh', '/opt/hearth-package-scripts/after-install.sh', 'configure'], {
      timeoutMs: 120_000,
    });
    expect(postinst.exitCode, `${postinst.stdout}${postinst.stderr}`).toBe(0);
    expect(postinst.stdout).toMatch(/^::result link changed \/usr\/bin\/hearth -> \/usr\/lib\/hearth\/hearth$/m);
    expect((await m().ok(['readlink', '/usr/bin/hearth'])).trim()).toBe('/usr/lib/hearth/hearth');

    // Its own runtime, by its first line: the machine has no other node.
    expect((await m().exec(['which', 'node'])).exitCode).not.toBe(0);
    const version = await m().exec(['/usr/lib/hearth/hearth', 'version'], ALICE);
    expect(version.exitCode, version.stderr).toBe(0);
    const { version: appVersion } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as {
      version: string;
    };
    // The client's line, and hearthd's: it reached the installed hearthd.
    expect(version.stdout).toMatch(new RegExp(`^hearth +${appVersion.replaceAll('.', '\\.')} `, 'm'));
    expect(version.stdout).toMatch(/^hearthd +\S+ \(API v1 revision \d+\)$/m);
    // As a shell finds it (PATH), as alice: her environments, none yet.
    const ls = await m().exec(['hearth', 'ls', '--json'], ALICE);
    expect(ls.exitCode, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout)).toMatchObject({ environments: [] });

    // The package's link goes with the package (before-remove runs unlink-cli; not on upgrade).
    await m().ok(['sh', '/opt/hearth-package-scripts/before-remove.sh', 'upgrade']);
    expect((await m().ok(['readlink', '/usr/bin/hearth'])).trim()).toBe('/usr/lib/hearth/hearth');
    const unlink = await m().exec(['bash', `${PACKAGED}/hearth-install.sh`, 'unlink-cli', '--link', '/usr/bin/hearth']);
    expect(unlink.stdout).toMatch(/^::result unlink changed removed \/usr\/bin\/hearth$/m);
    expect((await m().exec(['hearth', 'version'], ALICE)).exitCode).not.toBe(0);

    await m().ok(['systemctl', 'stop', 'hearthd']);
    try {
      const stopped = await m().exec(['/usr/lib/hearth/hearth', 'ls', '--json'], ALICE);
      expect(stopped.exitCode, `${stopped.stdout}${stopped.stderr}`).toBe(4);
      expect(stopped.stderr).toContain('installed but not running');
      expect(stopped.stdout).toBe('');
    } finally {
      await m().ok(['systemctl', 'start', 'hearthd']);
    }
    let last = '';
    await eventually(
      async () => {
        const answer = await api(m(), ALICE, 'GET', '/v1/version');
        last = `${answer.status} ${answer.curlError}`;
        if (answer.status !== 200) throw new Error(`hearthd answers ${last}`);
        return answer;
      },
      {
        what: 'hearthd to answer alice again after a start',
        timeoutMs: 60_000,
        context: async () => `${last}\n${await m().ok(['ls', '-la', '/run/hearth'])}\n${await journal(m())}`,
      },
    );
  }, 240_000);

  it('creates, boots (TCG), stops, starts and deletes a VM for alice through the socket', async () => {
    // An administrator's steps, as root: the image (never through the API), then QEMU with TCG.
    await m().ok(
      [
        '/usr/lib/hearth/node',
        '/usr/lib/hearth/hearthd.mjs',
        'install-image',
        '--name',
        'test-guest',
        '--kernel',
        `${GUEST}/vmlinuz`,
        '--initrd',
        `${GUEST}/initrd.img`,
        '--disk',
        `${GUEST}/base.qcow2`,
        '--cmdline',
        (await ensureTestGuest()).cmdline,
        '--ready-marker',
        (await ensureTestGuest()).readyMarker,
      ],
      { timeoutMs: 120_000 },
    );
    await apiOk(m(), ROOT, 'PATCH', '/v1/config', { hypervisor: 'qemu', accel: 'tcg', minimumMemoryMiB: 64 });
    await apiOk(m(), ROOT, 'PUT', '/v1/classes/tiny', { cpus: 1, memoryMiB: 128, diskGiB: 2 });

    const t = Date.now();
    const created = await apiOk<Environment>(m(), ALICE, 'POST', '/v1/environments', { name: 'alpha', class: 'tiny' });
    // Soft: the rest of the life cycle is worth checking even when the owner is not recorded.
    expect.soft(created.owner.uid, 'owner of an environment alice created').toBe(aliceUid);
    const running = await waitForState(m(), ALICE, 'alpha', 'running', 180_000);
    log(`create → running took ${Date.now() - t} ms`);
    expect(running.vmm?.pid).toBeGreaterThan(0);
    // The VMM runs as the unprivileged hearth-vmm user, not as root.
    expect((await processStatus(m(), running.vmm!.pid!))?.Uid).toMatch(new RegExp(`^${vmmUid}\\s`));

    await apiOk(m(), ALICE, 'POST', '/v1/environments/alpha/stop');
    await waitForState(m(), ALICE, 'alpha', 'stopped', 120_000);
    expect(await processStatus(m(), running.vmm!.pid!)).toBeUndefined();
    await apiOk(m(), ALICE, 'POST', '/v1/environments/alpha/start');
    const again = await waitForState(m(), ALICE, 'alpha', 'running', 180_000);
    await apiOk(m(), ALICE, 'DELETE', '/v1/environments/alpha');
    expect((await api(m(), ALICE, 'GET', '/v1/environments/alpha')).status).toBe(404);
    expect(await processStatus(m(), again.vmm!.pid!)).toBeUndefined();
    expect((await m().exec(['ls', '/var/lib/hearth/environments', '/run/hearth/vms'])).stdout.trim()).not.toMatch(
      /env-/,
    );
  }, 600_000);

  it(
    'runs a networked Debian guest under the real unit: alice SSHes in with her key and it fetches through NAT',
    async () => {
      if (!debianBuild) throw new Error(`no local Debian build in ${DEBIAN_IMAGE_CACHE}`);
      // The VMM user opens its TAP through /dev/net/tun. systemd-nspawn gives the machine its own
      // copy of the host's node with the host's mode (0600 on some CI machines); udev, which makes
      // it 0666 on every distribution, does not run in a container. Do what it would, inside.
      await m().ok(['chmod', '0666', '/dev/net/tun']);
      // The installer's build-image action, as the app runs it: served from the cache, it imports.
      await m().ok(['mkdir', '-p', '/var/cache/hearth/image-build']);
      await m().ok(['cp', '-a', `${IMAGE_CACHE}/${debianBuild}`, '/var/cache/hearth/image-build/'], {
        timeoutMs: 120_000,
      });
      const build = await runInstallScript(m(), `${PKG}/hearth-install.sh`, ['build-image']);
      expect(build.exitCode, build.output).toBe(0);
      expect(build.results).toMatchObject({
        bootstrap: 'unchanged cached',
        import: 'changed debian-12-local (from the cache)',
      });

      // "internet": a namespace of this test's own, on a veth into the machine's network namespace.
      const nss = new Namespaces();
      try {
        const internet = await nss.add('inet');
        await inNs(internet, [
          'ip',
          'link',
          'add',
          'ws0',
          'type',
          'veth',
          'peer',
          'name',
          'uplink',
          'netns',
          String(m().initPid),
        ]);
        await inNs(internet, ['ip', 'addr', 'add', '203.0.113.1/24', 'dev', 'ws0']);
        await inNs(internet, ['ip', 'link', 'set', 'ws0', 'up']);
        await inNs(internet, ['ip', 'addr', 'add', '192.0.2.1/32', 'dev', 'lo']);
        const site = await mkdtemp(join(tmpdir(), 'hearth-site-'));
        await writeFile(join(site, 'index.html'), 'hello from the internet\n', { mode: 0o644 });
        await nss.serve(internet, site, 8080);
        await m().ok(['ip', 'addr', 'add', '203.0.113.2/24', 'dev', 'uplink']);
        await m().ok(['ip', 'link', 'set', 'uplink', 'up']);
        await m().ok(['ip', 'route', 'add', 'default', 'via', '203.0.113.1']);

        await m().ok(['mkdir', '-p', '-m', '0700', '/home/alice/.ssh'], ALICE);
        await m().ok(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', '/home/alice/.ssh/id_ed25519'], ALICE);
        const key = (await m().ok(['cat', '/home/alice/.ssh/id_ed25519.pub'], ALICE)).trim();
        await apiOk(m(), ROOT, 'PUT', '/v1/classes/debian', { cpus: 1, memoryMiB: 1024, diskGiB: 4 });
        const t = Date.now();
        await apiOk(m(), ALICE, 'POST', '/v1/environments', {
          name: 'net',
          class: 'debian',
          image: 'debian-12-local',
          sshPublicKey: key,
        });
        const running = await waitForState(m(), ALICE, 'net', 'running', 30 * 60_000);
        log(`networked Debian create → running (cloud-init done) took ${Date.now() - t} ms`);
        const { ssh } = running;
        if (!ssh) throw new Error('the running environment has no SSH details');
        const knownHosts = ssh.hostKeys.map((k) => `${ssh.hostKeyAlias} ${k.publicKey}`).join('\n');
        await m().ok(
          ['sh', '-c', 'printf "%s\\n" "$1" > /home/alice/.ssh/hearth_known_hosts', 'sh', knownHosts],
          ALICE,
        );
        const fetched = await m().exec(
          [
            'ssh',
            ...['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=10'],
            ...[
              '-o',
              'UserKnownHostsFile=/home/alice/.ssh/hearth_known_hosts',
              '-o',
              `HostKeyAlias=${ssh.hostKeyAlias}`,
            ],
            `${ssh.user}@${ssh.host}`,
            'curl -sS --max-time 10 http://192.0.2.1:8080/',
          ],
          { ...ALICE, timeoutMs: 120_000 },
        );
        expect(fetched.stdout.trim(), fetched.stderr).toBe('hello from the internet');
        // The sandbox let hearthd do all of it: bridge, TAP, both tables, dnsmasq, forwarding.
        expect(await m().ok(['nft', 'list', 'tables'])).toMatch(/inet hearth/);

        await apiOk(m(), ALICE, 'DELETE', '/v1/environments/net');
        expect(await m().ok(['ip', '-o', 'link', 'show'])).not.toMatch(/hearth0|hth[0-9a-f]{12}/);
        expect(await m().ok(['nft', 'list', 'tables'])).not.toMatch(/hearth/);
        expect((await m().ok(['cat', '/proc/sys/net/ipv4/ip_forward'])).trim()).toBe('0');
        await rm(site, { recursive: true, force: true });
      } finally {
        // alice's key and known hosts are the test's doing, not the installer's: the uninstall
        // test compares the machine with what it was before the install.
        await m().exec(['rm', '-rf', '/home/alice/.ssh']);
        await m().exec(['ip', 'route', 'del', 'default']);
        await nss.destroy();
      }
    },
    40 * 60_000,
  );

  it('upgrades with a VM running: hearthd restarts, the VM keeps running and is reattached', async () => {
    await apiOk(m(), ALICE, 'POST', '/v1/environments', { name: 'beta', class: 'tiny', image: 'test-guest' });
    const running = await waitForState(m(), ALICE, 'beta', 'running', 180_000);
    const mainPid = (await m().ok(['systemctl', 'show', '-P', 'MainPID', 'hearthd'])).trim();
    const t = Date.now();
    const upgrade = await runInstallScript(m(), `${PKG}-upgrade/hearth-install.sh`, ['install', '--user', 'alice']);
    log(`upgrade (install with a VM running) took ${Date.now() - t} ms`);
    expect(upgrade.exitCode, upgrade.output).toBe(0);
    expect(upgrade.results).toMatchObject({ files: 'changed', unit: 'unchanged', service: 'changed' });
    expect(upgrade.output).toContain('restarted hearthd to run the new version');
    expect((await m().ok(['systemctl', 'show', '-P', 'MainPID', 'hearthd'])).trim()).not.toBe(mainPid);
    expect(await m().ok(['cat', '/usr/lib/hearth/installed.env'])).toMatch(/^HEARTH_VERSION=.*-upgrade$/m);
    // Same VMM process, and the new hearthd knows it as running.
    expect(await processStatus(m(), running.vmm!.pid!)).toBeDefined();
    const reattached = await waitForState(m(), ALICE, 'beta', 'running', 30_000);
    expect(reattached.vmm?.pid).toBe(running.vmm!.pid);
    // Reattached means controlled: the new hearthd stops that VM, and starts it again for uninstall.
    await apiOk(m(), ALICE, 'POST', '/v1/environments/beta/stop');
    await waitForState(m(), ALICE, 'beta', 'stopped', 120_000);
    expect(await processStatus(m(), running.vmm!.pid!)).toBeUndefined();
    await apiOk(m(), ALICE, 'POST', '/v1/environments/beta/start');
    runningVmm = (await waitForState(m(), ALICE, 'beta', 'running', 180_000)).vmm!.pid!;
  }, 600_000);

  it('uninstalls with --purge: the VMM is stopped and the machine is as it was before the install', async () => {
    const t = Date.now();
    const purge = await runInstallScript(m(), `${PKG}/hearth-install.sh`, ['uninstall', '--purge']);
    log(`uninstall --purge took ${Date.now() - t} ms`);
    expect(purge.exitCode, purge.output).toBe(0);
    expect(purge.steps).toEqual(['stop', 'network', 'service', 'files', 'users', 'data']);
    expect(purge.done).toBe(true);
    if (runningVmm !== undefined) expect(await processStatus(m(), runningVmm)).toBeUndefined();
    expect(await pidsOfUid(m(), vmmUid)).toEqual([]);
    expect((await m().exec(['systemctl', 'is-active', 'hearthd'])).stdout.trim()).not.toBe('active');
    expect((await m().exec(['systemctl', 'cat', 'hearthd'])).exitCode).not.toBe(0);
    expect((await m().exec(['id', 'hearth-vmm'])).exitCode).not.toBe(0);
    expect((await m().exec(['getent', 'group', 'hearth'])).exitCode).not.toBe(0);

    const after = await snapshot(m(), ['/etc', '/usr', '/var', '/opt', '/home', '/root', '/run']);
    // What a running systemd changes by itself meanwhile (journal, timers' stamps, logins, its own
    // runtime state) is not the install script's doing.
    const noise =
      /^\/(var\/log|var\/lib\/systemd|var\/cache\/ldconfig|run\/(systemd|user|log|udev|dbus|agetty\.reload))(\/|$)|^\/etc\/(\.pwd\.lock|[a-z]+-)$/;
    const diff = (a: Map<string, string>, b: Map<string, string>) =>
      [...a].filter(([k, v]) => !noise.test(k) && b.get(k) !== v).map(([k, v]) => `${k} ${v}`);
    expect(diff(after, before), 'added or changed by install + uninstall').toEqual([]);
    expect(diff(before, after), 'removed or changed by install + uninstall').toEqual([]);
  }, 300_000);
});
