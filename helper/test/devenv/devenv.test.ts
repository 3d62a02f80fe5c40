import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment, EnvironmentLogEntry } from '#protocol';
import type { HearthdClient } from '#protocol/client';
import { inNs, succeeds } from '../network/support/topology.js';
import { installDebianImage } from '../support/debian-image.js';
import { killVmms, waitForState } from '../support/environments.js';
import { useTunLikeDistributions } from '../support/tun.js';
import { HearthdProcess, makePaths } from '../support/hearthd-process.js';
import { requestAs } from '../support/request-as.js';
import { asUnit, unitProfile } from '../support/unit-profile.js';
import {
  asMember,
  ensureDeveloper,
  sshAs,
  userSideOfSsh,
  GREETING,
  makeWorld,
  WORLD,
  type Member,
  type World,
} from './support/world.js';
import { eventually } from '../support/eventually.js';
import { NEEDS_ROOT, skipWhen } from '../support/skip.js';

/**
 * The whole scenario of issue #9, for real: the local Debian image, hearthd as the unit runs it
 * inside a "workstation" namespace, real Debian guests under QEMU TCG provisioned by cloud-init
 * over the guest channel, on hearth0 with NAT, DHCP and DNS, and SSH in with each owner's own key
 * through the config the user's side writes. Three guests share this file: `web` and `db`
 * (isolated) of one owner, `other` of a second owner.
 */
const BOOT_MS = 20 * 60_000;
/** One step over SSH into a TCG guest on a busy machine can take seconds; a few dozen of them, minutes. */
const STEP_MS = 5 * 60_000;

describe('a real Debian environment on a NAT network, with SSH', skipWhen(NEEDS_ROOT), () => {
  let world: World;
  let daemon: HearthdProcess;
  let client: HearthdClient;
  let alice: Member;
  let bob: Member;
  let carol: Member;
  let restoreTun: (() => Promise<void>) | undefined;
  const envs = new Map<string, Environment>();

  /** `hearth ssh-config <command>` as `member`: the user's side of SSH (key, ssh_config, Include). */
  const sshSide = (member: Member, ...command: string[]) =>
    userSideOfSsh(member, world.ws, daemon.paths.socket, ...command);
  /** `ssh <host> <command>` as `member` with the config its side wrote (StrictHostKeyChecking=yes). */
  const ssh = (member: Member, host: string, command: string, timeout = 60_000) =>
    sshAs(member, world.ws, host, command, timeout);
  const sshOk = async (member: Member, host: string, command: string) => {
    const run = await ssh(member, host, command);
    expect(run.exitCode, `ssh ${host} ${command}: ${run.stderr}`).toBe(0);
    return run.stdout.trim();
  };
  const fetch = (url: string) => `curl -sS --max-time 5 ${url}`;
  /** Prints the host key iff a TCP connection to port 22 of `address` gets an SSH server's answer. */
  const keyscan = (address: string) => `ssh-keyscan -T 3 -t ed25519 ${address} 2>/dev/null | grep -v '^#'`;
  const create = async (member: Member, body: Record<string, unknown>) => {
    const answer = await requestAs(daemon.paths.socket, member.uid, 'POST', '/v1/environments', body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body as unknown as Environment;
  };
  /** Waits for `running`, and fails at once, with the reason, if it ends `failed` instead. */
  const running = async (name: string, timeoutMs = BOOT_MS) => {
    const env = await waitForState(client, name, ['running', 'failed'], timeoutMs);
    expect(env.state, `${name}: ${env.reason ?? ''}`).toBe('running');
    return env;
  };
  const get = async (member: Member, name: string) =>
    (await requestAs(daemon.paths.socket, member.uid, 'GET', `/v1/environments/${name}`))
      .body as unknown as Environment;

  beforeAll(
    async () => {
      restoreTun = await useTunLikeDistributions();
      world = await makeWorld();
      alice = await ensureDeveloper('hearth-dev-a');
      bob = await ensureDeveloper('hearth-dev-b');
      carol = await ensureDeveloper('hearth-dev-c');
      const paths = await makePaths('hearthd-devenv-');
      const image = await installDebianImage(paths);
      daemon = await HearthdProcess.start(paths, [], ['ip', 'netns', 'exec', world.ws, ...asUnit(unitProfile())]);
      await chmod(paths.socket, 0o666); // this daemon serves this test only
      client = daemon.client();
      await client.call('updateConfig', { body: { hypervisor: 'qemu', accel: 'tcg', minimumMemoryMiB: 512 } });
      await client.call('putClass', { params: { name: 'dev' }, body: { cpus: 1, memoryMiB: 768, diskGiB: 4 } });

      const aliceKey = await sshSide(alice, 'setup');
      const bobKey = await sshSide(bob, 'setup');
      await sshSide(alice, 'include');
      await sshSide(bob, 'include');
      envs.set('web', await create(alice, { name: 'web', class: 'dev', image: image.name, sshPublicKey: aliceKey }));
      envs.set(
        'db',
        await create(alice, { name: 'db', class: 'dev', image: image.name, sshPublicKey: aliceKey, isolated: true }),
      );
      envs.set('other', await create(bob, { name: 'other', class: 'dev', image: image.name, sshPublicKey: bobKey }));
      for (const name of ['web', 'db', 'other']) envs.set(name, await running(name));
      await sshSide(alice, 'sync');
      await sshSide(bob, 'sync');
    },
    BOOT_MS + 10 * 60_000,
  );

  afterAll(async () => {
    // Whatever beforeAll got to: each step on its own, so one failure does not leave the rest behind.
    const quietly = (step: () => Promise<unknown>) =>
      Promise.resolve()
        .then(step)
        .catch(() => undefined);
    for (const name of envs.keys()) await quietly(() => client.call('deleteEnvironment', { params: { id: name } }));
    await quietly(() => client.close());
    await quietly(() => killVmms(daemon.paths));
    await quietly(() => daemon.dispose());
    await quietly(() => world.dispose());
    await quietly(async () => restoreTun?.());
  }, STEP_MS);

  it(
    'is running once the agent reported it usable; cloud-init finishes while it runs',
    async () => {
      const web = envs.get('web')!;
      // Usable (user, key, sshd) usually comes before cloud-init's last stage ends; it ends while running.
      expect(['running', 'done']).toContain(web.provisioning?.status);
      let left: string | undefined;
      let last: unknown;
      await eventually(
        async () => {
          const now = await client.call('getEnvironment', { params: { id: 'web' } });
          last = now.provisioning;
          if (now.state !== 'running') left = `it left running for ${now.state}`;
          return now.provisioning?.status === 'done';
        },
        {
          what: 'cloud-init to finish while web runs',
          timeoutMs: 300_000,
          intervalMs: 1_000,
          giveUp: () => left,
          context: () => `provisioning: ${JSON.stringify(last)}`,
        },
      );
      expect(web.network).toMatchObject({ hostname: 'web.hearth', isolated: false });
      const events = (
        await client.call('getEnvironmentLogs', { params: { id: 'web' }, query: { source: 'events', tail: 500 } })
      ).lines
        .map((line) => JSON.parse(line) as EnvironmentLogEntry)
        .map((entry) => entry.event);
      expect(events.indexOf('ready')).toBeGreaterThan(events.lastIndexOf('vmm-launched'));
      const console = (
        await client.call('getEnvironmentLogs', { params: { id: 'web' }, query: { tail: 5000 } })
      ).lines.join('\n');
      expect(console).toMatch(/Cloud-init v\. .* finished/);
    },
    STEP_MS,
  );

  it(
    'lets its owner SSH in with strict host key checking, reach the internet and the LAN, and resolve a sibling',
    async () => {
      expect(await sshOk(alice, 'web.hearth', 'uname -a')).toMatch(/^Linux web /);
      expect(await sshOk(alice, 'web.hearth', 'whoami')).toBe('dev');
      expect(await sshOk(alice, 'web.hearth', fetch(`http://${WORLD.internetHost}:${WORLD.port}/`))).toBe(
        GREETING.internet,
      );
      expect(await sshOk(alice, 'web.hearth', fetch(`http://${WORLD.lanHost}:${WORLD.port}/`))).toBe(GREETING.lan);
      expect(await sshOk(alice, 'web.hearth', 'getent hosts db')).toContain(envs.get('db')!.network!.address);
      // What the guest was told about itself matches what the API says.
      expect(await sshOk(alice, 'web.hearth', 'hostname')).toBe('web');
      const hostKey = await sshOk(alice, 'web.hearth', 'sudo cat /etc/ssh/ssh_host_ed25519_key.pub');
      expect(envs.get('web')!.ssh!.hostKeys.map((k) => k.publicKey)).toContain(
        hostKey.split(' ').slice(0, 2).join(' '),
      );
    },
    STEP_MS,
  );

  it(
    'adds nothing that listens in the workstation but dnsmasq: DHCP on hearth0, one DNS answerer per owner',
    async () => {
      // The test's own HTTP server (busybox) aside, everything listening is dnsmasq: DHCP bound to
      // hearth0, each owner's DNS answerer on the bridge's address (15300 on; guests ask port 53
      // and the rules send them to their owner's), and the unconnected UDP sockets the answerers
      // send their upstream queries from (ephemeral ports; only answers to their own are read).
      const listening = (await inNs(world.ws, ['ss', '-Hltnup']))
        .split('\n')
        .filter((line) => line && !line.includes('"busybox"'));
      const bridge = '10.131.0.1';
      const answerer = (l: string) => new RegExp(`${bridge.replaceAll('.', '\\.')}:153\\d\\d `).test(l);
      expect(listening.filter((l) => answerer(l) && l.startsWith('tcp'))).toHaveLength(2); // two owners
      expect(listening.filter((l) => answerer(l) && l.startsWith('udp'))).toHaveLength(2);
      expect(listening.some((l) => /%hearth0:67 /.test(l))).toBe(true);
      for (const line of listening) {
        expect(line, line).toMatch(/"dnsmasq"/);
        const [proto, state, , , local] = line.split(/\s+/);
        const port = Number(local?.split(':').at(-1));
        const served = answerer(`${local} `) || /%hearth0:67$/.test(local ?? '');
        const upstream = proto === 'udp' && state === 'UNCONN' && port >= 32768;
        expect(served || upstream, line).toBe(true);
      }
    },
    STEP_MS,
  );

  it(
    'keeps an isolated environment to the internet: no LAN, workstation, metadata address or other guest',
    async () => {
      const web = envs.get('web')!.network!.address;
      const db = envs.get('db')!.network!.address;
      const probe = (target: string) => `curl -sS --max-time 3 http://${target}:${WORLD.port}/`;
      const targets = [WORLD.lanHost, WORLD.uplink, '10.131.0.1'];
      // Link-local space (cloud metadata) is no guest's, isolated or not.
      for (const env of ['web.hearth', 'db.hearth'])
        expect((await ssh(alice, env, probe(WORLD.metadata))).exitCode, `${env} reached the metadata`).not.toBe(0);
      expect(await sshOk(alice, 'db.hearth', probe(WORLD.internetHost))).toBe(GREETING.internet);
      for (const target of targets) {
        // The same request from the environment that is not isolated is the control: it gets through.
        expect((await ssh(alice, 'web.hearth', probe(target))).exitCode, `web could not reach ${target}`).toBe(0);
        expect((await ssh(alice, 'db.hearth', probe(target))).exitCode, `db reached ${target}`).not.toBe(0);
      }
      // web's sshd answers (the control: root on the workstation reaches it); db does not reach it.
      expect(await inNs(world.ws, ['ssh-keyscan', '-T', '3', '-t', 'ed25519', web])).toContain('ssh-ed25519');
      expect(await sshOk(alice, 'db.hearth', `${keyscan(web)}; echo scanned`)).toBe('scanned');
      // DHCP gave it its address, and DNS answers.
      expect(await sshOk(alice, 'db.hearth', 'hostname -I')).toContain(db);
      expect(await sshOk(alice, 'db.hearth', 'getent hosts web')).toContain(web);
    },
    STEP_MS,
  );

  it(
    "keeps owners apart: another owner's guest and another local user cannot reach a guest",
    async () => {
      const web = envs.get('web')!.network!.address;
      expect(await sshOk(bob, 'other.hearth', `${keyscan(web)}; echo scanned`)).toBe('scanned');
      const scan = ['ssh-keyscan', '-T', '3', '-t', 'ed25519', web];
      expect((await asMember(carol, world.ws, scan)).stdout, 'a third local user reached web').toBe('');
      expect((await asMember(alice, world.ws, scan)).stdout).toContain('ssh-ed25519');
      expect(await inNs(world.ws, scan)).toContain('ssh-ed25519'); // root
    },
    STEP_MS,
  );

  it(
    "gives a guest that claims another environment's address or name neither",
    async () => {
      const db = envs.get('db')!.network!.address;
      const claim = await ssh(
        alice,
        'web.hearth',
        `sudo ip addr add ${db}/24 dev eth0 && curl -sS --max-time 3 --interface ${db} http://${WORLD.internetHost}:${WORLD.port}/; s=$?; sudo ip addr del ${db}/24 dev eth0; exit $s`,
      );
      expect(claim.exitCode, 'a packet from a claimed address got through').not.toBe(0);
      await ssh(
        alice,
        'web.hearth',
        'sudo hostnamectl set-hostname db; sudo dhclient -r eth0; sudo dhclient eth0; true',
        90_000,
      );
      expect(await sshOk(alice, 'web.hearth', 'getent hosts db')).toContain(db);
      expect(await sshOk(alice, 'web.hearth', 'hostname -I')).toContain(envs.get('web')!.network!.address);
      await ssh(alice, 'web.hearth', 'sudo hostnamectl set-hostname web');
    },
    STEP_MS,
  );

  it(
    'does not forward between the workstation’s other networks, and survives a changed default route',
    async () => {
      expect((await inNs(world.ws, ['cat', '/proc/sys/net/ipv4/ip_forward'])).trim()).toBe('1');
      expect(
        await succeeds(world.lan, ['curl', '-sS', '--max-time', '3', `http://${WORLD.thirdHost}:${WORLD.port}/`]),
      ).toBe(false);
      await world.switchUplink();
      expect(await sshOk(alice, 'web.hearth', fetch(`http://${WORLD.internetHost}:${WORLD.port}/`))).toBe(
        GREETING.internet,
      );
    },
    STEP_MS,
  );

  it(
    'warns in the readiness report when a drop-policy forward table would drop what hearthd accepts',
    async () => {
      await inNs(world.ws, ['nft', 'add table ip dockerish']);
      await inNs(world.ws, [
        'nft',
        'add chain ip dockerish FORWARD { type filter hook forward priority 0; policy drop; }',
      ]);
      try {
        const report = await client.call('getHost', { query: { fresh: true } });
        const check = report.checks.find((c) => c.id === 'host-firewall');
        expect(check?.status).toBe('warn');
        expect(check?.remedy?.command ?? JSON.stringify(check)).toMatch(/hearth0/);
      } finally {
        await inNs(world.ws, ['nft', 'delete table ip dockerish']);
      }
    },
    STEP_MS,
  );

  it(
    'keeps the address and host key across stop and start',
    async () => {
      const before = await get(alice, 'web');
      await client.call('stopEnvironment', { params: { id: 'web' } });
      await waitForState(client, 'web', 'stopped', 180_000);
      await client.call('startEnvironment', { params: { id: 'web' } });
      const after = await running('web');
      expect(after.network).toEqual(before.network);
      expect(after.ssh).toEqual(before.ssh);
      expect(await sshOk(alice, 'web.hearth', 'echo again')).toBe('again');
    },
    BOOT_MS,
  );

  it(
    'removes the TAP at delete; ssh web.hearth works again for a new web; after the last one nothing is left',
    async () => {
      const tapOf = (env: Environment) => `hth${env.id.slice(4)}`;
      const links = async () => (await inNs(world.ws, ['ip', '-o', 'link', 'show'])).split('\n');
      const old = envs.get('db')!;
      await client.call('deleteEnvironment', { params: { id: 'db' } });
      envs.delete('db');
      expect((await links()).some((l) => l.includes(tapOf(old)))).toBe(false);
      await client.call('deleteEnvironment', { params: { id: 'other' } });
      envs.delete('other');

      const oldWeb = envs.get('web')!;
      await client.call('deleteEnvironment', { params: { id: 'web' } });
      envs.delete('web');
      const key = await sshSide(alice, 'setup');
      envs.set('web', await create(alice, { name: 'web', class: 'dev', image: oldWeb.image, sshPublicKey: key }));
      const again = await running('web');
      expect(again.id).not.toBe(oldWeb.id);
      await sshSide(alice, 'sync');
      expect(await sshOk(alice, 'web.hearth', 'hostname')).toBe('web');
      const knownHosts = await readFile(join(alice.home, '.config', 'hearth', 'known_hosts'), 'utf8');
      expect(knownHosts).not.toContain(`hearth-${oldWeb.id}`);

      await client.call('deleteEnvironment', { params: { id: 'web' } });
      envs.delete('web');
      expect((await links()).filter((l) => /hearth0|hth[0-9a-f]{12}/.test(l))).toEqual([]);
      expect(await inNs(world.ws, ['nft', 'list', 'tables'])).not.toMatch(/hearth/);
      const listening = (await inNs(world.ws, ['ss', '-Hltnup'])).split('\n');
      expect(listening.filter((l) => l && !l.includes('"busybox"'))).toEqual([]);
      expect((await inNs(world.ws, ['cat', '/proc/sys/net/ipv4/ip_forward'])).trim()).toBe('0');
    },
    BOOT_MS + 120_000,
  );
});
