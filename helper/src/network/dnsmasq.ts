import { spawn } from 'node:child_process';
import { chmod, chown, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { isMissing } from '../host/host-root.js';
import type { Logger } from '../log.js';
import { findProcesses, processInfo } from '../vmm/process.js';
import { killProcess } from '../environments/vmm-identity.js';
import { GUEST_DOMAIN } from './guest-network.js';
import { lookupUser, type VmmUser } from '../environments/vmm-user.js';

export interface Reservation {
  mac: string;
  address: string;
  /** The environment's name (a DNS label, validated at create). */
  name: string;
}

export interface DnsmasqConfig {
  bridge: string;
  /** Network address and netmask of the subnet, dotted. */
  network: string;
  netmask: string;
  /** Files it reads: `<dir>/dhcp-hosts` and `<dir>/hosts`. */
  dir: string;
  /** Who it drops to, and the group (by name, as dnsmasq wants it) that may read its files. */
  user: VmmUser & { group: string };
}

/**
 * dnsmasq's command line: DHCP with static reservations only and DNS for `<name>.hearth`, on the
 * bridge alone. No config file, no lease file (nothing to parse, nothing a guest can fill), no
 * script hook, no ping (so no CAP_NET_RAW), names guests claim ignored, and the host's own
 * /etc/hosts not served to guests. It drops to `user` after binding.
 */
export function dnsmasqArgs(c: DnsmasqConfig): string[] {
  return [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--pid-file=',
    `--user=${c.user.name}`,
    `--group=${c.user.group}`,
    '--bind-interfaces',
    `--interface=${c.bridge}`,
    '--except-interface=lo',
    '--no-hosts',
    `--addn-hosts=${join(c.dir, 'hosts')}`,
    `--dhcp-hostsfile=${join(c.dir, 'dhcp-hosts')}`,
    `--dhcp-range=${c.network},static,${c.netmask},12h`,
    '--dhcp-authoritative',
    '--dhcp-ignore-names',
    '--leasefile-ro',
    '--no-ping',
    `--domain=${GUEST_DOMAIN}`,
    `--local=/${GUEST_DOMAIN}/`,
    '--log-facility=-',
  ];
}

/** The two files, from reservations (each value validated before it got here). */
export function dnsmasqFiles(reservations: readonly Reservation[]): { dhcpHosts: string; hosts: string } {
  return {
    dhcpHosts: reservations.map((r) => `${r.mac},${r.address},${r.name}\n`).join(''),
    hosts: reservations.map((r) => `${r.address} ${r.name}.${GUEST_DOMAIN} ${r.name}\n`).join(''),
  };
}

interface Pid {
  pid: number;
  startTime: number;
}

/**
 * The one dnsmasq, started and watched by hearthd. It is detached and outlives a restart of
 * hearthd, as the VMs do (guests keep DNS); the next hearthd adopts it when its pid, start time
 * and exact command line match, and otherwise ends it and starts its own.
 */
export class Dnsmasq {
  constructor(
    private readonly binary: () => Promise<string>,
    /** Root-only directory: its pid record and log. */
    private readonly stateDir: string,
    /** Where its files are (the config's `dir`): a dnsmasq reading them is hearthd's. */
    private readonly filesDir: string,
    private readonly log: Logger,
  ) {}

  private get pidFile(): string {
    return join(this.stateDir, 'dnsmasq.json');
  }

  /**
   * Writes its files and makes sure the right dnsmasq runs: a live one with the same command
   * line re-reads them (SIGHUP); anything else is replaced.
   */
  async ensure(config: DnsmasqConfig, reservations: readonly Reservation[]): Promise<void> {
    await this.writeFiles(config, reservations);
    const binary = await this.binary();
    const argv = [binary, ...dnsmasqArgs(config)];
    const running = await this.running();
    if (running && sameArgv(running.argv, argv)) {
      process.kill(running.pid, 'SIGHUP');
      return;
    }
    await this.stop();
    await this.start(argv);
  }

  /** Its directory: root's, readable by dnsmasq's group, since it re-reads the files after dropping root. */
  private async writeFiles(config: DnsmasqConfig, reservations: readonly Reservation[]): Promise<void> {
    // dnsmasq reads them as its own user, so it must traverse the runtime directory (search
    // only, as the VMM user does; daemon.ts adds it when there is a VMM user).
    const parent = dirname(config.dir);
    const { mode } = await stat(parent);
    if ((mode & 0o001) === 0) await chmod(parent, (mode & 0o7777) | 0o001);
    await mkdir(config.dir, { recursive: true, mode: 0o750 });
    await chown(config.dir, 0, config.user.gid);
    await chmod(config.dir, 0o750);
    const { dhcpHosts, hosts } = dnsmasqFiles(reservations);
    for (const [name, text] of [
      ['dhcp-hosts', dhcpHosts],
      ['hosts', hosts],
    ] as const)
      await writeFileAtomic(join(config.dir, name), text, { mode: 0o640, chown: { uid: 0, gid: config.user.gid } });
  }

  private async start(argv: string[]): Promise<void> {
    const logFile = join(this.stateDir, 'dnsmasq.log');
    const out = await open(logFile, 'a', 0o600);
    try {
      const child = spawn(argv[0]!, argv.slice(1), {
        detached: true,
        stdio: ['ignore', out.fd, out.fd],
        env: { LC_ALL: 'C' },
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const failed = new Promise<Error>((resolve) => child.once('error', resolve));
      child.unref();
      // Recorded at once: a hearthd that dies in the next moment leaves a dnsmasq it can find.
      const info = child.pid === undefined ? undefined : await processInfo(child.pid);
      if (info)
        await writeFileAtomic(this.pidFile, JSON.stringify({ pid: info.pid, startTime: info.startTime }), {
          mode: 0o600,
        });
      // It binds and drops privileges at once; an early exit means it could not (the log says why).
      const early = await Promise.race([exited, failed, new Promise<'up'>((r) => setTimeout(() => r('up'), 500))]);
      if (early !== 'up' || !info) {
        await rm(this.pidFile, { force: true });
        const said = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join('; ');
        const why = early instanceof Error ? early.message : early === 'up' ? 'gone at once' : `exit ${String(early)}`;
        throw new Error(`dnsmasq did not start (${why}): ${said}`);
      }
      this.log.info({ pid: info.pid }, 'dnsmasq started');
    } finally {
      await out.close();
    }
  }

  /** The dnsmasq hearthd started, if it still runs (pid and start time both match). */
  async running(): Promise<{ pid: number; argv: string[] } | undefined> {
    let recorded: Pid;
    try {
      recorded = JSON.parse(await readFile(this.pidFile, 'utf8')) as Pid;
    } catch (error) {
      if (isMissing(error) || error instanceof SyntaxError) return undefined;
      throw error;
    }
    if (!Number.isInteger(recorded.pid) || recorded.pid <= 1) return undefined;
    const info = await processInfo(recorded.pid);
    if (!info || info.startTime !== recorded.startTime) return undefined;
    return { pid: info.pid, argv: info.argv };
  }

  /** The recorded dnsmasq and any other reading hearthd's files (one whose record was lost), ended. */
  async stop(): Promise<void> {
    const running = await this.running();
    const strays = (await findProcesses(`--dhcp-hostsfile=${join(this.filesDir, 'dhcp-hosts')}`)).filter(
      (p) => basename(p.argv[0] ?? '') === 'dnsmasq',
    );
    for (const pid of new Set([...(running ? [running.pid] : []), ...strays.map((p) => p.pid)])) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const deadline = Date.now() + 2_000;
      while (Date.now() < deadline && (await processInfo(pid))) await new Promise((r) => setTimeout(r, 20));
      await killProcess(pid);
      this.log.info({ pid }, 'dnsmasq stopped');
    }
    await rm(this.pidFile, { force: true });
  }
}

/** dnsmasq's own account if the system has one (Debian's dnsmasq package), else nobody. */
export async function dnsmasqUser(): Promise<DnsmasqConfig['user']> {
  const group = await readFile('/etc/group', 'utf8').catch(() => '');
  for (const name of ['dnsmasq', 'nobody']) {
    const user = await lookupUser(name);
    if (!user) continue;
    const { gid } = user.name === name ? await primaryGid(name, user) : user;
    const groupName = group
      .split('\n')
      .map((line) => line.split(':'))
      .find((fields) => fields[2] === String(gid))?.[0];
    if (groupName) return { ...user, gid, group: groupName };
  }
  throw new Error('neither a "dnsmasq" nor a "nobody" user exists for dnsmasq to run as');
}

/** lookupUser swaps in the kvm group for VMM users; dnsmasq wants its own primary group. */
async function primaryGid(name: string, user: VmmUser): Promise<{ gid: number }> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const line = passwd.split('\n').find((l) => l.startsWith(`${name}:`));
  const gid = Number(line?.split(':')[3]);
  return { gid: Number.isInteger(gid) ? gid : user.gid };
}

function sameArgv(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((arg, i) => arg === b[i]);
}
