import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { inNs, Namespaces } from '../../network/support/topology.js';

/**
 * The world of the whole scenario, made of network namespaces this test creates and deletes, so
 * no packet leaves them:
 *
 *   internet: 203.0.113.1 (uplink) and 203.0.113.129 (uplink2), documentation ranges that an
 *             isolated guest may reach; serves on 192.0.2.1 and on the metadata address
 *             169.254.169.254, reachable only through the default route (and by no guest)
 *   lan:      192.168.77.1, serves; routes 198.51.100.0/24 through the workstation
 *   third:    198.51.100.1, serves; the workstation must not forward lan's packets to it
 *   workstation: hearthd, hearth0, the guests' TAPs; serves too (a service of the host's own)
 */
export const WORLD = {
  internetHost: '192.0.2.1',
  uplinkGateway: '203.0.113.1',
  uplink: '203.0.113.2',
  uplink2Gateway: '203.0.113.129',
  uplink2: '203.0.113.130',
  lanHost: '192.168.77.1',
  lanSide: '192.168.77.2',
  thirdHost: '198.51.100.1',
  thirdSide: '198.51.100.2',
  metadata: '169.254.169.254',
  port: 8080,
} as const;

export const GREETING = {
  internet: 'hello from internet',
  lan: 'hello from lan',
  third: 'hello from third',
  workstation: 'hello from the workstation',
};

export interface World {
  nss: Namespaces;
  ws: string;
  internet: string;
  lan: string;
  third: string;
  /** Moves the workstation's default route to its second uplink (the network changed mid-run). */
  switchUplink(): Promise<void>;
  dispose(): Promise<void>;
}

export async function makeWorld(): Promise<World> {
  const nss = new Namespaces();
  const dirs: string[] = [];
  try {
    const ws = await nss.add('ws');
    const internet = await nss.add('inet');
    const lan = await nss.add('lan');
    const third = await nss.add('third');
    await nss.link(ws, 'uplink', `${WORLD.uplink}/25`, internet, 'ws0', `${WORLD.uplinkGateway}/25`);
    await nss.link(ws, 'uplink2', `${WORLD.uplink2}/25`, internet, 'ws1', `${WORLD.uplink2Gateway}/25`);
    await nss.link(ws, 'lan0', `${WORLD.lanSide}/24`, lan, 'ws0', `${WORLD.lanHost}/24`);
    await nss.link(ws, 'third0', `${WORLD.thirdSide}/24`, third, 'ws0', `${WORLD.thirdHost}/24`);
    await inNs(internet, ['ip', 'addr', 'add', `${WORLD.internetHost}/32`, 'dev', 'lo']);
    // A metadata service as clouds have it, reached through the default route.
    await inNs(internet, ['ip', 'addr', 'add', `${WORLD.metadata}/32`, 'dev', 'lo']);
    await inNs(ws, ['ip', 'route', 'add', 'default', 'via', WORLD.uplinkGateway]);
    await inNs(lan, ['ip', 'route', 'add', '198.51.100.0/24', 'via', WORLD.lanSide]);
    await inNs(third, ['ip', 'route', 'add', '192.168.77.0/24', 'via', WORLD.thirdSide]);
    for (const [ns, greeting] of [
      [internet, GREETING.internet],
      [lan, GREETING.lan],
      [third, GREETING.third],
      // A service of the workstation's own (on every address: its uplinks and the bridge's).
      [ws, GREETING.workstation],
    ] as const) {
      const dir = await mkdtemp(join(tmpdir(), 'hearth-world-'));
      dirs.push(dir);
      await writeFile(join(dir, 'index.html'), `${greeting}\n`, { mode: 0o644 });
      await nss.serve(ns, dir, WORLD.port);
    }
    return {
      nss,
      ws,
      internet,
      lan,
      third,
      switchUplink: async () => {
        await inNs(ws, ['ip', 'route', 'replace', 'default', 'via', WORLD.uplink2Gateway]);
      },
      dispose: async () => {
        await nss.destroy();
        for (const dir of dirs) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await nss.destroy();
    throw error;
  }
}

export interface Member {
  name: string;
  uid: number;
  gid: number;
  /** Its home in the passwd database: ssh reads ~/.ssh/config from there, whatever HOME says. */
  home: string;
}

/** A local user with a home of its own (ssh needs one), made once per machine and reused. */
export async function ensureDeveloper(name: string): Promise<Member> {
  const home = `/var/tmp/${name}`;
  const known = await execa('getent', ['passwd', name], { reject: false });
  if (known.exitCode !== 0)
    await execa('useradd', [
      '--system',
      '--user-group',
      '--home-dir',
      home,
      '--no-create-home',
      '--shell',
      '/bin/sh',
      name,
    ]);
  const [, , uid, gid, , passwdHome] = (await execa('getent', ['passwd', name])).stdout.trim().split(':');
  const member = { name, uid: Number(uid), gid: Number(gid), home: passwdHome ?? home };
  await mkdir(member.home, { recursive: true });
  await chown(member.home, member.uid, member.gid);
  await chmod(member.home, 0o700);
  return member;
}

/** Runs `command` as `member` inside network namespace `ns` (HOME set, groups from the passwd entry). */
export async function asMember(
  member: Member,
  ns: string,
  command: string[],
  options: { timeout?: number; cwd?: string } = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const result = await execa(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'setpriv',
      `--reuid=${member.uid}`,
      `--regid=${member.gid}`,
      '--init-groups',
      '--',
      'env',
      `HOME=${member.home}`,
      `USER=${member.name}`,
      'PATH=/usr/local/bin:/usr/bin:/bin',
      ...command,
    ],
    { reject: false, timeout: options.timeout ?? 60_000, ...(options.cwd && { cwd: options.cwd }) },
  );
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The bundled `hearth` command that `npm run build` produces: the file the packages ship. */
export const HEARTH_CLI = join(import.meta.dirname, '..', '..', '..', '..', 'dist', 'cli', 'hearth.cjs');

/**
 * `hearth ssh-config <command>` as `member` inside `ns`: the user's side of SSH (key, ssh_config,
 * Include) against the hearthd at `socket`. Returns its stdout; fails with its stderr.
 */
export async function userSideOfSsh(member: Member, ns: string, socket: string, ...command: string[]): Promise<string> {
  const run = await hearthAs(member, ns, socket, ['ssh-config', ...command]);
  if (run.exitCode !== 0)
    throw new Error(`hearth ssh-config ${command.join(' ')} exited ${run.exitCode}: ${run.stderr}`);
  return run.stdout.trim();
}

/** The bundled `hearth` command as `member` inside `ns`, against the hearthd at `socket`. */
export function hearthAs(member: Member, ns: string, socket: string, args: string[], timeout = 120_000) {
  return asMember(member, ns, [process.execPath, HEARTH_CLI, '--socket', socket, ...args], { timeout });
}

/** `ssh <host> <command>` as `member` with the config its side of SSH wrote (strict host key checking). */
export function sshAs(member: Member, ns: string, host: string, command: string, timeout = 60_000) {
  return asMember(member, ns, ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', host, command], { timeout });
}
