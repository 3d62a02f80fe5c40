import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import writeFileAtomic from 'write-file-atomic';
import type { Logger } from '../log.js';
import { findProcesses, killProcess, waitForExit } from '../system/process.js';
import { GUEST_DOMAIN } from './guest-network.js';
import { lookupUser, type VmmUser } from '../system/passwd.js';
import { formatAddress, maskOf, type Subnet } from './subnet.js';

export interface Reservation {
  mac: string;
  address: string;
  /** The environment's name (a DNS label, validated at create). */
  name: string;
}

/** Who dnsmasq drops to, and the group (by name, as dnsmasq wants it) that may read its files. */
export type DnsmasqUser = VmmUser & { group: string };

/** One dnsmasq: `key` names it and its files' directory; `args` follow from the files' paths. */
export interface DnsmasqInstance {
  key: string;
  args: string[];
  /** File name → text, written into its directory before it starts or re-reads them. */
  files: Record<string, string>;
}

const COMMON = (user: DnsmasqUser) => [
  '--keep-in-foreground',
  '--conf-file=/dev/null',
  '--pid-file=',
  `--user=${user.name}`,
  `--group=${user.group}`,
  // Its own errors go to stderr, which hearthd reads into its log (rate-limited): no file grows.
  '--log-facility=-',
];

/**
 * The DHCP server: static reservations only, on the bridge alone, no DNS (each owner has an
 * answerer of their own). No config file, no lease file (nothing to parse, nothing a guest can
 * fill), no script hook, no ping (so no CAP_NET_RAW), names guests claim ignored, and no line per
 * packet (`--quiet-dhcp`): a guest's flood of requests writes nothing.
 */
export function dhcpInstance(
  o: { bridge: string; subnet: Subnet; bridgeAddress: string; dir: string; user: DnsmasqUser },
  reservations: readonly Reservation[],
): DnsmasqInstance {
  const dir = join(o.dir, 'dhcp');
  return {
    key: 'dhcp',
    args: [
      ...COMMON(o.user),
      '--port=0',
      '--bind-interfaces',
      `--interface=${o.bridge}`,
      '--except-interface=lo',
      `--dhcp-hostsfile=${join(dir, 'dhcp-hosts')}`,
      `--dhcp-range=${formatAddress(o.subnet.network)},static,${formatAddress(maskOf(o.subnet.prefix))},12h`,
      `--dhcp-option=option:dns-server,${o.bridgeAddress}`,
      '--dhcp-authoritative',
      '--dhcp-ignore-names',
      '--leasefile-ro',
      '--no-ping',
      '--quiet-dhcp',
      `--domain=${GUEST_DOMAIN}`,
    ],
    files: { 'dhcp-hosts': reservations.map((r) => `${r.mac},${r.address},${r.name}\n`).join('') },
  };
}

/**
 * One owner's DNS answerer, on the bridge address at `port`: that owner's names, forward and
 * reverse, and nothing of anyone else's (dnsmasq cannot answer per client, so each owner gets
 * one, and the rules send each guest's questions to its owner's). Names under `.hearth` and
 * addresses of the subnet it does not know are answered "no such name", never forwarded; the
 * rest goes to the host's resolvers. The host's /etc/hosts is not served.
 */
export function ownerDnsInstance(
  o: { owner: number; subnet: Subnet; bridgeAddress: string; port: number; dir: string; user: DnsmasqUser },
  reservations: readonly Reservation[],
): DnsmasqInstance {
  const dir = join(o.dir, `owner-${o.owner}`);
  return {
    key: `owner-${o.owner}`,
    args: [
      ...COMMON(o.user),
      `--port=${o.port}`,
      '--bind-interfaces',
      `--listen-address=${o.bridgeAddress}`,
      '--no-hosts',
      `--addn-hosts=${join(dir, 'hosts')}`,
      `--domain=${GUEST_DOMAIN}`,
      `--local=/${GUEST_DOMAIN}/`,
      `--local=/${reverseZone(o.subnet)}/`,
    ],
    files: { hosts: reservations.map((r) => `${r.address} ${r.name}.${GUEST_DOMAIN} ${r.name}\n`).join('') },
  };
}

/** The in-addr.arpa zone holding the subnet (whole octets: a /20 answers for its /16). */
export function reverseZone(subnet: Subnet): string {
  const octets = Math.max(1, Math.floor(subnet.prefix / 8));
  return `${formatAddress(subnet.network).split('.').slice(0, octets).reverse().join('.')}.in-addr.arpa`;
}

/** At most this many of a dnsmasq's lines per window reach hearthd's log; the rest are counted. */
const LOG_LINES_PER_WINDOW = 20;
const LOG_WINDOW_MS = 10_000;

interface Running {
  child: ChildProcess;
  argv: string[];
  alive: boolean;
}

/**
 * The dnsmasqs hearthd runs, each its own child: its stderr is a pipe into hearthd's log, so a
 * restarted hearthd replaces those an earlier one started (a gap of well under a second for
 * guests' DNS and DHCP; leases are static) rather than adopting processes whose errors nobody
 * reads. Any other dnsmasq reading hearthd's files (one a crash left) is ended.
 */
export class DnsmasqFleet {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly binary: () => Promise<string>,
    /** Where their files are (`<runtime>/dnsmasq`): a dnsmasq naming it is hearthd's. */
    private readonly filesDir: string,
    private readonly log: Logger,
  ) {}

  /**
   * Exactly `wanted` run, with their files written: a live one with the same command line
   * re-reads them (SIGHUP). Every one that goes or changes is ended before any starts, so a
   * port or address one of them held is free for the next.
   */
  async ensure(wanted: readonly DnsmasqInstance[], user: DnsmasqUser): Promise<void> {
    const binary = await this.binary();
    const toStart: { key: string; argv: string[] }[] = [];
    for (const instance of wanted) {
      await this.writeFiles(instance, user);
      const argv = [binary, ...instance.args];
      const run = this.running.get(instance.key);
      if (run?.alive && sameArgv(run.argv, argv)) run.child.kill('SIGHUP');
      else toStart.push({ key: instance.key, argv });
    }
    for (const [key, run] of this.running)
      if (!wanted.some((w) => w.key === key) || toStart.some((s) => s.key === key)) await this.stopOne(key, run);
    await this.endStrays();
    await Promise.all(toStart.map((s) => this.start(s.key, s.argv)));
  }

  /** Whether every dnsmasq started is still running (the supervisor starts the dead again). */
  allAlive(): boolean {
    return [...this.running.values()].every((r) => r.alive);
  }

  /** Every dnsmasq of hearthd's, ended. */
  async stopAll(): Promise<void> {
    for (const [key, run] of this.running) await this.stopOne(key, run);
    await this.endStrays();
  }

  private async writeFiles(instance: DnsmasqInstance, user: DnsmasqUser): Promise<void> {
    // dnsmasq re-reads them as its own user, so it must traverse the runtime directory (search
    // only, as the VMM user does) and read its own directory.
    const parent = dirname(this.filesDir);
    const { mode } = await stat(parent);
    if ((mode & 0o001) === 0) await chmod(parent, (mode & 0o7777) | 0o001);
    for (const dir of [this.filesDir, join(this.filesDir, instance.key)]) {
      await mkdir(dir, { recursive: true, mode: 0o750 });
      await chown(dir, 0, user.gid);
      await chmod(dir, 0o750);
    }
    for (const [name, text] of Object.entries(instance.files))
      await writeFileAtomic(join(this.filesDir, instance.key, name), text, {
        mode: 0o640,
        chown: { uid: 0, gid: user.gid },
      });
  }

  private async start(key: string, argv: string[]): Promise<void> {
    const child = spawn(argv[0]!, argv.slice(1), {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { LC_ALL: 'C' },
    });
    const run: Running = { child, argv, alive: true };
    this.running.set(key, run);
    const log = this.log.child({ dnsmasq: key });
    const said: string[] = [];
    let budget = LOG_LINES_PER_WINDOW;
    let suppressed = 0;
    const window = setInterval(() => {
      if (suppressed) log.warn({ suppressed }, 'dnsmasq said more than the log keeps; lines were left out');
      budget = LOG_LINES_PER_WINDOW;
      suppressed = 0;
    }, LOG_WINDOW_MS).unref();
    child.stderr.on('error', () => undefined); // its end is seen as the exit
    createInterface({ input: child.stderr }).on('line', (line) => {
      said.push(line);
      if (said.length > 3) said.shift();
      if (budget-- > 0) log.info(line.slice(0, 500));
      else suppressed += 1;
    });
    const exited = new Promise<string>((resolve) =>
      child.once('exit', (code, signal) => {
        run.alive = false;
        clearInterval(window);
        resolve(`exit ${String(code ?? signal)}`);
      }),
    );
    // Every error (one spawning, or a signal that could not be sent) is answered: none may end hearthd.
    const failed = new Promise<string>((resolve) =>
      child.on('error', (error) => {
        log.warn({ err: error }, 'dnsmasq process error');
        resolve(error.message);
      }),
    );
    child.unref();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
    // It binds and drops privileges at once; an early exit means it could not (its words say why).
    const early = await Promise.race([exited, failed, new Promise<'up'>((r) => setTimeout(() => r('up'), 500))]);
    if (early !== 'up') {
      this.running.delete(key);
      throw new Error(`dnsmasq (${key}) did not start (${early}): ${said.join('; ')}`);
    }
    log.info({ pid: child.pid }, 'dnsmasq started');
  }

  private async stopOne(key: string, run: Running): Promise<void> {
    this.running.delete(key);
    if (run.alive && run.child.pid !== undefined) await endProcess(run.child.pid);
    this.log.info({ dnsmasq: key }, 'dnsmasq stopped');
  }

  /** dnsmasqs reading hearthd's files that this hearthd did not start (a crashed one's, an older version's). */
  private async endStrays(): Promise<void> {
    const ours = new Set([...this.running.values()].map((r) => r.child.pid));
    const strays = (await findProcesses(`${this.filesDir}/`)).filter(
      (p) => basename(p.argv[0] ?? '') === 'dnsmasq' && !ours.has(p.pid),
    );
    for (const stray of strays) {
      this.log.info({ pid: stray.pid }, 'ending a dnsmasq this hearthd did not start');
      await endProcess(stray.pid);
    }
  }
}

/** SIGTERM, a moment to exit, then SIGKILL. */
async function endProcess(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  if (!(await waitForExit(pid, 2_000))) await killProcess(pid);
}

/** dnsmasq's own account if the system has one (Debian's dnsmasq package), else nobody. */
export async function dnsmasqUser(): Promise<DnsmasqUser> {
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
