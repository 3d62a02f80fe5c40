import { Type, type Static } from '@sinclair/typebox';
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { Settings } from '#protocol';
import { isMissing } from '../system/host-root.js';
import type { Logger } from '../log.js';
import { compileValidator } from '../validate.js';
import { DnsmasqFleet, dhcpInstance, dnsmasqUser, ownerDnsInstance, type DnsmasqUser } from './dnsmasq.js';
import { Forwarding } from './forwarding.js';
import { DNS_PORTS, type GuestAttachment, type TapOwner } from './guest-network.js';
import { Links } from './links.js';
import { TAP_PATTERN, tapName } from './names.js';
import { applyRuleset, removeRuleset } from './nft.js';
import type { Member } from './ruleset.js';
import { addressOf, bridgeAddress, formatSubnet, hostCount, parseAddress, parseSubnet, type Subnet } from './subnet.js';
import type { NetworkTools } from './tools.js';
import { describeRoute, overlappingRoute, readRoutes, routePolicy } from './routes.js';
import { DomainError, messageOf } from '../errors.js';

const Attached = Type.Object(
  {
    id: Type.String({ pattern: '^env-[0-9a-f]{12}$' }),
    name: Type.String({ pattern: '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$' }),
    owner: Type.Integer({ minimum: 0 }),
    host: Type.Integer({ minimum: 2, maximum: 65534 }),
    mac: Type.String({ pattern: '^52:54:00(:[0-9a-f]{2}){3}$' }),
    isolated: Type.Boolean(),
  },
  { additionalProperties: false },
);
type Attached = Static<typeof Attached>;
const isAttachedList = compileValidator(Type.Array(Attached, { maxItems: 65534 }));

/** How often the supervisor looks at dnsmasq and the host's routes (a crash or a new route is acted on within this). */
const SUPERVISE_INTERVAL_MS = 2_000;

export interface NetworkServiceOptions {
  runtimeDir: string;
  bridge: string;
  tools: NetworkTools;
  settings: () => Settings;
  log: Logger;
  /** Test-only: called between the steps whose order keeps the host safe, where a test kills the process. */
  crashPoint?: (point: NetworkCrashPoint) => void;
}

/** Where a test may kill the network code, to prove what a crash there leaves. */
export type NetworkCrashPoint = 'between-rules-and-forwarding';

/**
 * The host side of the guests' network: one bridge, one TAP per running networked VM, hearthd's
 * nftables tables, IPv4 forwarding and one dnsmasq. It exists while at least one networked VM is
 * attached and is removed with the last. Which VMs are attached is kept in a root-only file, so
 * a restarted hearthd (whose VMs kept running) rebuilds exactly the same rules.
 */
export class NetworkService {
  private attached = new Map<string, Attached>();
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly links: Links;
  private readonly forwarding: Forwarding;
  private readonly dnsmasq: DnsmasqFleet;
  /** The routes the rules were last made from, to notice a VPN or LAN that comes or goes. */
  private appliedRoutes = '';
  /** Each owner's DNS answerer port while they have guests attached. */
  private readonly ownerPorts = new Map<number, number>();

  constructor(private readonly o: NetworkServiceOptions) {
    this.links = new Links(o.tools);
    this.forwarding = new Forwarding(join(this.stateDir, 'ip-forward'));
    this.dnsmasq = new DnsmasqFleet(() => o.tools.path('dnsmasq'), this.dnsmasqDir, o.log.child({ part: 'dnsmasq' }));
  }

  /** `<runtime>/network`: root's alone (the attached list, the forwarding record). */
  get stateDir(): string {
    return join(this.o.runtimeDir, 'network');
  }

  /** `<runtime>/dnsmasq/<dhcp|owner-UID>/`: the files each dnsmasq re-reads after dropping root (its group may read them). */
  private get dnsmasqDir(): string {
    return join(this.o.runtimeDir, 'dnsmasq');
  }

  private get attachedFile(): string {
    return join(this.stateDir, 'attached.json');
  }

  /** Reads what an earlier run left attached; call before environments recover. */
  async open(): Promise<void> {
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    await chmod(this.stateDir, 0o700);
    // An earlier version kept one dnsmasq's pid and an unbounded log here.
    for (const old of ['dnsmasq.json', 'dnsmasq.log']) await rm(join(this.stateDir, old), { force: true });
    let raw: unknown = [];
    try {
      raw = JSON.parse(await readFile(this.attachedFile, 'utf8'));
    } catch (error) {
      if (!isMissing(error) && !(error instanceof SyntaxError)) throw error;
    }
    if (isAttachedList(raw)) this.attached = new Map(raw.map((a) => [a.id, a]));
    else this.o.log.error({ file: this.attachedFile }, 'attached list is invalid; starting from none');
  }

  /** After environments recovered: rebuild for the VMs still attached, or remove every leftover. */
  reconcile(): Promise<void> {
    return this.serial(async () => {
      if (this.attached.size) await this.apply();
      // Only root (with nft and ip) can have made anything; a development hearthd has nothing to undo.
      else if (process.getuid?.() === 0) await this.removeAll({ leftovers: true });
      this.timer ??= setInterval(() => void this.supervise(), SUPERVISE_INTERVAL_MS);
    });
  }

  /** Stops watching dnsmasq; it and the rules stay for the VMs, which outlive hearthd. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Whether any networked VM is attached (the subnet cannot change under it). */
  inUse(): boolean {
    return this.attached.size > 0;
  }

  /**
   * Refuses a subnet while guests use the current one (their addresses would move under them),
   * one too small for the host numbers environments hold, and one that overlaps a route of this
   * machine other than the bridge's, naming the route.
   */
  async checkSubnet(cidr: string, hosts: readonly number[]): Promise<void> {
    let subnet;
    try {
      subnet = parseSubnet(cidr);
    } catch (error) {
      throw new DomainError('invalid', `networkSubnet: ${messageOf(error)}`);
    }
    if (this.inUse())
      throw new DomainError(
        'conflict',
        `The environment network cannot change while ${this.attached.size} environment(s) with a network run`,
        'stop the environments with a network first',
      );
    const highest = Math.max(0, ...hosts);
    if (highest > hostCount(subnet))
      throw new DomainError(
        'conflict',
        `networkSubnet ${formatSubnet(subnet)} has ${hostCount(subnet)} addresses; an environment has host number ${highest}`,
        'choose a larger subnet, or delete the environments with the highest addresses first',
      );
    const clash = overlappingRoute(subnet, await readRoutes(this.o.tools), this.o.bridge);
    if (clash)
      throw new DomainError(
        'conflict',
        `networkSubnet ${formatSubnet(subnet)} overlaps the route ${describeRoute(clash)} of this machine`,
        'choose a subnet no route of this machine covers',
      );
  }

  /** A guest's address from its host number in the current subnet (the record keeps the number). */
  addressFor(host: number): string {
    return addressOf(parseSubnet(this.o.settings().networkSubnet), host);
  }

  /** The guest's TAP, made for `tapOwner` (the VMM user), on a bridge with rules that know it. */
  attach(guest: GuestAttachment, tapOwner: TapOwner | undefined): Promise<{ tap: string; mac: string }> {
    return this.serial(async () => {
      const host = this.hostOf(guest.address);
      const tap = tapName(guest.id);
      this.attached.set(guest.id, {
        id: guest.id,
        name: guest.name,
        owner: guest.ownerUid,
        host,
        mac: guest.mac,
        isolated: guest.isolated,
      });
      await this.save();
      const uid = tapOwner?.uid ?? process.getuid?.() ?? 0;
      const gid = tapOwner?.gid ?? process.getgid?.() ?? 0;
      try {
        await this.ensureBridge();
        await this.links.ensureTap(tap, this.o.bridge, guest.mac, uid, gid);
        await this.apply();
      } catch (error) {
        await this.detachNow(guest.id);
        throw error;
      }
      return { tap, mac: guest.mac };
    });
  }

  /** The host number of `address` in the subnet; the network, bridge and broadcast addresses are refused. */
  private hostOf(address: string): number {
    const subnet = parseSubnet(this.o.settings().networkSubnet);
    const host = parseAddress(address) - subnet.network;
    if (host < 2 || host > hostCount(subnet))
      throw new Error(`${address} is not a guest address in ${formatSubnet(subnet)}`);
    return host;
  }

  /** Removes the VM's TAP; the last one takes the bridge, rules, dnsmasq and forwarding with it. */
  detach(envId: string): Promise<void> {
    return this.serial(() => this.detachNow(envId));
  }

  private async detachNow(envId: string): Promise<void> {
    await this.links.remove(tapName(envId));
    if (!this.attached.delete(envId)) return;
    await this.save();
    if (this.attached.size) await this.apply();
    else await this.removeAll();
  }

  private async ensureBridge(): Promise<void> {
    const subnet = parseSubnet(this.o.settings().networkSubnet);
    await this.links.ensureBridge(this.o.bridge, `${bridgeAddress(subnet)}/${subnet.prefix}`);
  }

  /**
   * Bridge, rules, forwarding and dnsmasq for the attached VMs; each step idempotent. Forwarding
   * is switched on only after the rules that restrict it are in place.
   */
  private async apply(): Promise<void> {
    const subnet = parseSubnet(this.o.settings().networkSubnet);
    await this.ensureBridge();
    const forwardOnlyBridge = await this.forwarding.remember();
    const user = await dnsmasqUser();
    const attached = [...this.attached.values()];
    const owners = [...new Set(attached.map((a) => a.owner))].sort((a, b) => a - b);
    const dnsPort = this.dnsPorts(owners);
    const members: Member[] = attached.map((a) => ({
      tap: tapName(a.id),
      mac: a.mac,
      address: addressOf(subnet, a.host),
      owner: a.owner,
      isolated: a.isolated,
      dnsPort: dnsPort(a.owner),
    }));
    const routes = routePolicy(await readRoutes(this.o.tools), this.o.bridge);
    await applyRuleset(this.o.tools, {
      bridge: this.o.bridge,
      subnet: formatSubnet(subnet),
      bridgeAddress: bridgeAddress(subnet),
      members,
      dnsmasqUid: user.uid,
      forwardOnlyBridge,
      ...routes,
    });
    this.appliedRoutes = JSON.stringify(routes);
    this.o.crashPoint?.('between-rules-and-forwarding');
    await this.forwarding.enable();
    await this.dnsmasq.ensure(this.dnsmasqInstances(subnet, user, owners, dnsPort), user);
  }

  /**
   * Each owner's answerer port: kept while the owner has guests attached (so another owner coming
   * or going restarts no one else's answerer), the lowest free one for a new owner.
   */
  private dnsPorts(owners: readonly number[]): (owner: number) => number {
    for (const owner of this.ownerPorts.keys()) if (!owners.includes(owner)) this.ownerPorts.delete(owner);
    for (const owner of owners) {
      if (this.ownerPorts.has(owner)) continue;
      const used = new Set(this.ownerPorts.values());
      let port: number = DNS_PORTS.first;
      while (used.has(port)) port += 1;
      if (port > DNS_PORTS.last) throw new Error('more owners than DNS answerer ports');
      this.ownerPorts.set(owner, port);
    }
    return (owner) => this.ownerPorts.get(owner)!;
  }

  /** One DHCP server for all, and one DNS answerer per owner that knows that owner's guests alone. */
  private dnsmasqInstances(subnet: Subnet, user: DnsmasqUser, owners: number[], dnsPort: (owner: number) => number) {
    const common = { subnet, bridgeAddress: bridgeAddress(subnet), dir: this.dnsmasqDir, user };
    const reservations = (owner?: number) =>
      [...this.attached.values()]
        .filter((a) => owner === undefined || a.owner === owner)
        .map((a) => ({ mac: a.mac, address: addressOf(subnet, a.host), name: a.name }));
    return [
      dhcpInstance({ ...common, bridge: this.o.bridge }, reservations()),
      ...owners.map((owner) => ownerDnsInstance({ ...common, owner, port: dnsPort(owner) }, reservations(owner))),
    ];
  }

  /**
   * Everything hearthd adds to the host's network, gone; safe to run when nothing is there.
   * Looking for `leftovers` at start, a missing nft or ip means there is nothing of theirs.
   */
  async removeAll(options: { leftovers?: boolean } = {}): Promise<void> {
    const has = async (tool: 'nft' | 'ip') =>
      !options.leftovers ||
      (await this.o.tools.path(tool).then(
        () => true,
        () => false,
      ));
    await this.dnsmasq.stopAll();
    if (await has('nft')) await removeRuleset(this.o.tools);
    if (await has('ip')) {
      for (const tap of await this.links.matching(TAP_PATTERN)) await this.links.remove(tap);
      await this.links.remove(this.o.bridge);
    }
    await this.forwarding.release();
  }

  /** dnsmasq is restarted if it died, and the rules remade when the host's routes changed, while guests need them. */
  private supervise(): Promise<void> {
    return this.serial(async () => {
      if (!this.attached.size) return;
      const routes = JSON.stringify(routePolicy(await readRoutes(this.o.tools), this.o.bridge));
      const dnsmasqAlive = this.dnsmasq.allAlive();
      if (dnsmasqAlive && routes === this.appliedRoutes) return;
      if (!dnsmasqAlive) this.o.log.warn('dnsmasq is not running; starting it again');
      else this.o.log.info("the host's routes changed; remaking the isolation rules");
      await this.apply();
    }).catch((error: unknown) => this.o.log.error({ err: error }, 'could not repair the guest network'));
  }

  private async save(): Promise<void> {
    await writeFileAtomic(this.attachedFile, JSON.stringify([...this.attached.values()]), { mode: 0o600 });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
