import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment, HearthEvent } from '#protocol';
import { SEED_FILE } from '../src/environments/components/seed.js';
import { GUEST_CHANNEL_NAME } from '../src/vmm/driver.js';
import { DEBIAN_IMAGE_NAME, installDebianImage } from './support/debian-image.js';
import { addTinyClass, installTestImage, killVmms, processesMentioning, waitForState } from './support/environments.js';
import { eventually } from './support/eventually.js';
import { useTunLikeDistributions } from './support/tun.js';
import { HearthdProcess, makePaths } from './support/hearthd-process.js';
import { asUnit, unitProfile } from './support/unit-profile.js';
import { Namespaces } from './network/support/topology.js';

const BUSYBOX = 'busybox-cloud';
const DEBIAN = DEBIAN_IMAGE_NAME;

async function eventsLog(client: ReturnType<HearthdProcess['client']>, id: string): Promise<string[]> {
  return (await client.call('getEnvironmentLogs', { params: { id }, query: { tail: 500, source: 'events' } })).lines;
}

/** `ssh dev@<address> <command>` from the guests' namespace, checking host keys strictly; its stdout, or null. */
async function sshRun(ns: string, keyFile: string, env: Environment, command = 'true'): Promise<string | null> {
  const knownHosts = `${keyFile}.known_hosts`;
  await writeFile(knownHosts, env.ssh!.hostKeys.map((k) => `${env.ssh!.hostKeyAlias} ${k.publicKey}\n`).join(''));
  const ssh = await execa(
    'ip',
    [
      ...['netns', 'exec', ns, 'ssh', '-i', keyFile, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10'],
      ...['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`],
      ...['-o', `HostKeyAlias=${env.ssh!.hostKeyAlias}`, `dev@${env.network!.address}`, command],
    ],
    { reject: false, timeout: 60_000 },
  );
  return ssh.exitCode === 0 ? ssh.stdout : null;
}

/**
 * Provisioning over the guest channel, on real QEMU TCG guests run by a real hearthd as the unit
 * runs it: `running` once the guest's agent reports it usable (the user, the owner's key, sshd),
 * before cloud-init's last stage has ended; cloud-init's error is `failed` with that error, also
 * when it comes after `running`; a guest that never reports is `failed` at provisionTimeoutSeconds.
 */
describe('provisioning over the guest channel', () => {
  let daemon: HearthdProcess;
  let daemonArgs: string[];
  let launcher: string[];
  let ns: string;
  const namespaces = new Namespaces();
  const events: HearthEvent[] = [];
  let abort = new AbortController();

  function subscribe(): void {
    const client = daemon.client();
    void (async () => {
      try {
        for await (const event of client.events(abort.signal)) events.push(event);
      } catch {
        // Ended with the test or with hearthd.
      }
    })();
  }

  let restoreTun: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    restoreTun = await useTunLikeDistributions();
    const paths = await makePaths('hearthd-provision-');
    await mkdir(paths.runtimeDir, { mode: 0o750 });
    await chmod(paths.runtimeDir, 0o750);
    // The busybox test guest, declared as a cloud-init image: it has no agent, so it never reports.
    await installTestImage(paths, { name: BUSYBOX });
    const manifestFile = join(paths.stateDir, 'images', BUSYBOX, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Record<string, unknown>;
    await writeFile(manifestFile, JSON.stringify({ ...manifest, provisioning: 'cloud-init' }));
    await installDebianImage(paths, DEBIAN);
    daemonArgs = ['--hypervisor', 'qemu', '--accel', 'tcg', '--vmm-user', 'nobody', '--test-provision-fail', 'broken'];
    // Its guests get hearth0, nftables and dnsmasq: all of it in a namespace of this test's own.
    ns = await namespaces.add('prov');
    launcher = ['ip', 'netns', 'exec', ns, ...asUnit(unitProfile())];
    daemon = await HearthdProcess.start(paths, daemonArgs, launcher);
    const client = daemon.client();
    await addTinyClass(client);
    await client.call('putClass', { params: { name: 'debian' }, body: { cpus: 1, memoryMiB: 1024, diskGiB: 4 } });
    subscribe();
  }, 40 * 60_000); // a cold machine builds the Debian image first

  afterAll(async () => {
    abort.abort();
    await killVmms(daemon.paths);
    await daemon.dispose();
    await namespaces.destroy();
    await restoreTun?.();
  });

  it('a guest that never reports is failed at provisionTimeoutSeconds, with the last stage seen', async () => {
    const client = daemon.client();
    await client.call('updateConfig', { body: { provisionTimeoutSeconds: 10 } });
    const created = await client.call('createEnvironment', { body: { name: 'silent', class: 'tiny', image: BUSYBOX } });
    expect(created.state).toBe('starting');
    expect(created.provisioning).toMatchObject({ status: 'waiting', stage: null, error: null });
    const stateDir = join(daemon.paths.stateDir, 'environments', created.id);

    // Its QEMU has the seed and the agent's port; the seed is root's alone.
    const [qemu] = await processesMentioning(`hearth-${created.id}`);
    expect(qemu?.argv.join(' ')).toContain(`name=${GUEST_CHANNEL_NAME}`);
    expect(qemu?.argv.join(' ')).toContain(`opaque=${join(stateDir, SEED_FILE)}`);
    const seed = await stat(join(stateDir, SEED_FILE));
    expect([seed.uid, seed.mode & 0o777]).toEqual([0, 0o600]);
    // hearthd made the guest's host keys at create, before its first boot: the host-keys
    // component's stored state; the network's place is the network component's.
    const record = JSON.parse(await readFile(join(stateDir, 'environment.json'), 'utf8')) as {
      spec: Record<string, unknown>;
      components: { hostKeys: Array<{ type: string; fingerprint: string }>; network: { host: number } };
    };
    expect(record.components.hostKeys.map((k) => k.type)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
    expect(record.components.network.host).toBeGreaterThanOrEqual(2);
    expect(record.spec).not.toHaveProperty('hostKeys');
    expect(record.spec).not.toHaveProperty('network');

    // The busybox guest prints its ready marker; for a cloud-init image that counts for nothing.
    const failed = await waitForState(client, created.id, 'failed', 90_000);
    expect(failed.readyAt).toBeNull();
    expect(failed.reason).toBe(
      'cloud-init did not finish within 10 s (provisionTimeoutSeconds); the last stage seen: none: the guest agent never reported',
    );
    expect((await eventsLog(client, created.id)).some((l) => l.includes('"event":"boot-timeout"'))).toBe(true);
    await client.call('deleteEnvironment', { params: { id: created.id } });
    await client.close();
  }, 120_000);

  describe('a real Debian guest (the local build: hearthd build-image, cached)', () => {
    let web: Environment;
    let userKey: string;
    let keyFile: string;

    beforeAll(async () => {
      const keyDir = join(daemon.paths.dir, 'user-key');
      await mkdir(keyDir, { mode: 0o700 });
      keyFile = join(keyDir, 'id');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tester@hearth', '-f', keyFile]);
      userKey = (await readFile(join(keyDir, 'id.pub'), 'utf8')).trim();
      await daemon.client().call('updateConfig', { body: { provisionTimeoutSeconds: 900 } });
    });

    it("is running once the agent reports the user, the owner's key and sshd ready — before cloud-init's last stage ends, across a kill -9 of hearthd mid-provisioning — and SSH answers then", async () => {
      let client = daemon.client();
      web = await client.call('createEnvironment', {
        body: { name: 'web', class: 'debian', image: DEBIAN, sshPublicKey: userKey },
      });
      // Once cloud-init is under way, hearthd dies; the next one reattaches and reconnects the channel.
      await eventually(
        async () => {
          const now = await client.call('getEnvironment', { params: { id: web.id } });
          return now.provisioning?.status === 'running' || now.state !== 'starting';
        },
        { what: 'cloud-init to be under way', timeoutMs: 300_000, intervalMs: 500 },
      );
      await client.close();
      abort.abort();
      daemon.signal('SIGKILL');
      await daemon.waitForExit();
      daemon = await HearthdProcess.start(daemon.paths, daemonArgs, launcher);
      abort = new AbortController();
      subscribe();
      client = daemon.client();
      const running = await waitForState(client, web.id, ['running', 'failed'], 900_000);
      expect(running.reason).toBeNull();
      expect(running.state).toBe('running');
      // Usable means usable: the owner logs in at once, checking the host keys hearthd reported.
      expect(await sshRun(ns, keyFile, running)).toBe('');

      // cloud-init's last stage was still running when the environment turned running...
      const seen = () =>
        events.flatMap((e) => (e.type === 'environment' && e.environment.id === web.id ? [e.environment] : []));
      const first = seen().find((e) => e.state === 'running');
      expect(first?.provisioning?.status).toBe('running');
      const before = seen()
        .filter((e) => e.state === 'starting')
        .map((e) => e.provisioning?.status);
      expect(before).toContain('waiting');
      expect(before).not.toContain('done');
      // ...and the provisioning field goes on showing its stages until it is done, still running.
      await eventually(() => seen().some((e) => e.provisioning?.status === 'done'), {
        timeoutMs: 600_000,
        what: 'cloud-init done',
      });
      const now = await client.call('getEnvironment', { params: { id: web.id } });
      expect(now).toMatchObject({ state: 'running', reason: null, provisioning: { status: 'done', error: null } });
      // sshd refuses passwords (the seed's drop-in; cloud-init's set-passwords restarted nothing).
      expect(await sshRun(ns, keyFile, now, 'sudo sshd -T')).toMatch(/^passwordauthentication no$/m);
      const stages = new Set(
        seen()
          .map((e) => e.provisioning?.stage)
          .filter(Boolean),
      );
      expect(stages.size).toBeGreaterThan(1);
      // cloud-init's own "finished" line is on the console by then.
      const console = await client.call('getEnvironmentLogs', { params: { id: web.id }, query: { tail: 2000 } });
      expect(console.lines.some((l) => /Cloud-init v\. .* finished at/.test(l))).toBe(true);

      const log = await eventsLog(client, web.id);
      const reattached = log.findIndex((l) => l.includes('"event":"reattached"'));
      expect(reattached).toBeGreaterThan(0);
      const ready = log.findIndex((l) => l.includes('"event":"ready"'));
      expect(ready).toBeGreaterThan(reattached);
      expect(log[ready]).toContain("reports the user, the owner's key and sshd ready");
      expect(
        log.findIndex((l) => l.includes('"event":"provisioning"') && l.includes('cloud-init done')),
      ).toBeGreaterThan(ready);
      expect(log.some((l) => l.includes('"event":"host-keys"') && l.includes('exactly the 2 host keys'))).toBe(true);
      expect(log.some((l) => l.includes('host-key-mismatch'))).toBe(false);
      await client.close();
    }, 960_000);

    it("a guest whose provisioning fails after it turned running is failed, with cloud-init's error", async () => {
      const client = daemon.client();
      await client.call('deleteEnvironment', { params: { id: web.id } });
      const broken = await client.call('createEnvironment', {
        body: { name: 'broken', class: 'debian', image: DEBIAN, sshPublicKey: userKey },
      });
      const failed = await waitForState(client, broken.id, 'failed', 900_000);
      // Usable first (its failing step is in cloud-init's last stage), then failed by that step
      // (the event stream may trail the API a moment).
      const states = () =>
        events.flatMap((e) =>
          e.type === 'environment' && e.environment.id === broken.id ? [e.environment.state] : [],
        );
      await eventually(() => states().includes('failed'), { timeoutMs: 20_000, what: 'the failed event' });
      expect(states().indexOf('running')).toBeGreaterThanOrEqual(0);
      expect(states().lastIndexOf('failed')).toBeGreaterThan(states().indexOf('running'));
      expect(failed.reason).toMatch(/^cloud-init finished with errors: .*scripts.user/);
      expect(failed.provisioning).toMatchObject({ status: 'error' });
      expect(failed.provisioning?.error).toMatch(/scripts.user/);
      const log = await eventsLog(client, broken.id);
      const ready = log.findIndex((l) => l.includes('"event":"ready"'));
      expect(ready).toBeGreaterThanOrEqual(0);
      expect(log.findIndex((l) => l.includes('"event":"provisioning-failed"'))).toBeGreaterThan(ready);
      await client.call('deleteEnvironment', { params: { id: broken.id } });
      await client.close();
    }, 960_000);
  });
});
