import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeGuest } from './harness.js';
import {
  DHCP,
  dhcpFrame,
  dhcpReply,
  dnsAnswer,
  dnsQuery,
  ETH_IP,
  ethernet,
  icmpEcho,
  ipv4,
  isEchoReply,
  LLDP_GROUP,
  linkLocal,
  PAE_GROUP,
  parseFrame,
  udp,
} from './support/frames.js';
import { HarnessProcess } from './support/harness-process.js';
import { TapPort } from './support/tap-port.js';
import { inNs, Namespaces } from './support/topology.js';
import { NEEDS_ROOT, skipWhen } from '../support/skip.js';

/**
 * Guests that attack the network: each test opens a guest's TAP as a VMM would and sends the
 * frames a hostile guest would (the fake guests answer ARP for their own address, nothing else), against the real network code (harness.ts, run as the unit
 * runs hearthd) in a "workstation" namespace with an "internet" (documentation ranges), a "lan"
 * holding the cloud metadata address, and a "vpn" the workstation routes 198.18.0.0/15 and
 * 203.0.113.128/25 to.
 */
const BRIDGE_ADDRESS = '10.131.0.1';

const guest = (n: number, name: string, ownerUid: number, isolated = false): FakeGuest => ({
  id: `env-0000000000${n.toString(16).padStart(2, '0')}`,
  name,
  ownerUid,
  mac: `52:54:00:00:00:${n.toString(16).padStart(2, '0')}`,
  address: `10.131.0.${n}`,
  isolated,
});
const alpha = guest(2, 'alpha', 1000);
const bravo = guest(3, 'bravo', 2000);
const charlie = guest(4, 'charlie', 1000, true);
const delta = guest(5, 'delta', 1000);
// bravo's owner (2000) is attached first, so alpha's (1000, a lower uid) comes second: a new owner
// must not take a port an earlier owner's answerer holds.
const guests = [bravo, alpha, charlie, delta];
/** One UDP datagram from the host to the address given (python3: the relay needs it anyway). */
const SEND_UDP = 'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", (sys.argv[1], 9))';

interface FdbEntry {
  mac: string;
  ifname: string;
  flags?: string[];
  state?: string;
}

describe('attacks from guests on the network', skipWhen(NEEDS_ROOT), () => {
  const nss = new Namespaces();
  let dir: string;
  let ws: string;
  let harness: HarnessProcess;
  let bridgeMac: string;
  const ports = new Map<string, TapPort>();
  const port = (g: FakeGuest) => ports.get(g.id)!;
  let taps: Record<string, string>;

  const fdb = async (): Promise<FdbEntry[]> =>
    JSON.parse(await inNs(ws, ['bridge', '-j', 'fdb', 'show', 'br', 'hearth0'])) as FdbEntry[];
  const runtimeBytes = async (): Promise<number> => {
    let total = 0;
    for (const entry of await readdir(join(dir, 'run'), { recursive: true, withFileTypes: true }))
      if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
    return total;
  };

  /** An ICMP echo from `g` to `to`, through the bridge's MAC (its gateway); whether a reply came. */
  const pings = async (g: FakeGuest, to: string): Promise<boolean> => {
    const id = randomBytes(2).readUInt16BE();
    const frame = ethernet(bridgeMac, g.mac, ETH_IP, ipv4(g.address, to, 1, icmpEcho(id, 1)));
    return (await port(g).ask(frame, (f) => isEchoReply(f, to), 2_000)) !== undefined;
  };

  /** A DNS question from `g` to the bridge's resolver; the number of answers (undefined: no reply). */
  const resolve = async (g: FakeGuest, name: string, qtype: 'A' | 'PTR'): Promise<number | undefined> => {
    const id = randomBytes(2).readUInt16BE();
    const query = udp(40_000 + (id % 1000), 53, dnsQuery(id, name, qtype));
    const frame = ethernet(bridgeMac, g.mac, ETH_IP, ipv4(g.address, BRIDGE_ADDRESS, 17, query));
    const answer = await port(g).ask(frame, (f) => dnsAnswer(f)?.id === id, 3_000);
    return answer && dnsAnswer(answer)!.answers;
  };
  /**
   * Returns once the bridge has taken every frame `g` sent before: the host answers a ping sent
   * after them, and a TAP's frames are taken in order (the bridge learns, or not, as each arrives).
   */
  const bridgeTook = async (g: FakeGuest): Promise<void> => {
    const id = randomBytes(2).readUInt16BE();
    const frame = ethernet(bridgeMac, g.mac, ETH_IP, ipv4(g.address, BRIDGE_ADDRESS, 1, icmpEcho(id, 1)));
    const reply = await port(g).ask(frame, (f) => isEchoReply(f, BRIDGE_ADDRESS), 10_000, 10);
    if (!reply) throw new Error(`the bridge did not answer ${g.name}'s ping: cannot tell it took the frames before`);
  };
  const reverse = (address: string) => `${address.split('.').reverse().join('.')}.in-addr.arpa`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-attacks-'));
    await chmod(dir, 0o711);
    ws = await nss.add('aws');
    const inet = await nss.add('ainet');
    const lan = await nss.add('alan');
    const vpn = await nss.add('avpn');
    await nss.link(ws, 'up1', '192.0.2.1/24', inet, 'eth0', '192.0.2.2/24');
    await inNs(inet, ['ip', 'addr', 'add', '203.0.113.80/32', 'dev', 'lo']);
    await inNs(ws, ['ip', 'route', 'add', 'default', 'via', '192.0.2.2']);
    await nss.link(ws, 'lan0', '192.168.50.1/24', lan, 'eth0', '192.168.50.2/24');
    await inNs(lan, ['ip', 'addr', 'add', '169.254.169.254/32', 'dev', 'lo']);
    await inNs(ws, ['ip', 'route', 'add', '169.254.169.254/32', 'via', '192.168.50.2']);
    await nss.link(ws, 'vpn0', '172.30.0.1/30', vpn, 'eth0', '172.30.0.2/30');
    await inNs(vpn, ['ip', 'addr', 'add', '198.18.0.10/32', 'dev', 'lo']);
    await inNs(vpn, ['ip', 'addr', 'add', '203.0.113.200/32', 'dev', 'lo']);
    await inNs(ws, ['ip', 'route', 'add', '198.18.0.0/15', 'via', '172.30.0.2']);
    await inNs(ws, ['ip', 'route', 'add', '203.0.113.128/25', 'via', '172.30.0.2']);

    harness = await HarnessProcess.start(ws, dir, guests);
    ({ taps } = await harness.attached);
    for (const g of guests) {
      ports.set(g.id, await TapPort.open(ws, taps[g.id]!, g));
    }
    bridgeMac = (JSON.parse(await inNs(ws, ['ip', '-j', 'link', 'show', 'hearth0'])) as { address: string }[])[0]!
      .address;
    // Each guest says something once, as a booting guest does, so a learning bridge knows where it is.
    for (const g of guests) port(g).send(ethernet('ff:ff:ff:ff:ff:ff', g.mac, 0x0806, arpAnnounce(g)));
  }, 120_000);

  afterAll(async () => {
    for (const p of ports.values()) p.close();
    await Promise.resolve()
      .then(() => harness.release())
      .catch(() => undefined);
    await nss.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [what, group] of [
    ['LLDP', LLDP_GROUP],
    ['802.1X', PAE_GROUP],
  ] as const)
    it(`keeps another guest's MAC where it is when a guest sends ${what} from it`, async () => {
      await port(alpha).sendAll([linkLocal(group, bravo.mac)]);
      await bridgeTook(alpha);
      const entries = (await fdb()).filter((e) => e.mac === bravo.mac);
      expect(entries.map((e) => e.ifname)).not.toContain(taps[alpha.id]);
      // Traffic for bravo still goes to bravo's TAP, not to alpha's.
      const toBravo = (f: Buffer) => parseFrame(f).dst === bravo.mac && parseFrame(f).ip?.dst === bravo.address;
      const atAlpha = port(alpha).next(toBravo, 1_500);
      const atBravo = port(bravo).next(toBravo, 1_500);
      await inNs(ws, ['python3', '-c', SEND_UDP, bravo.address]);
      expect(await atAlpha).toBeUndefined();
      expect(await atBravo).toBeDefined();
    });

  it('learns nothing from 2,000 link-local frames with random source MACs', async () => {
    const macs = Array.from({ length: 2000 }, () => {
      const b = randomBytes(6);
      b[0] = (b[0]! & 0xfe) | 0x02; // unicast, locally administered
      return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
    });
    await port(alpha).sendAll(macs.map((m) => linkLocal(LLDP_GROUP, m)));
    await bridgeTook(alpha);
    const random = new Set(macs);
    expect((await fdb()).filter((e) => random.has(e.mac))).toHaveLength(0);
  });

  it("keeps another guest's reservation when a guest declines or releases it in its name", async () => {
    const forged = { chaddr: bravo.mac, requested: bravo.address, serverId: BRIDGE_ADDRESS };
    await port(alpha).sendAll([
      dhcpFrame(alpha.mac, { type: DHCP.DECLINE, ...forged }),
      dhcpFrame(alpha.mac, { type: DHCP.RELEASE, ...forged, ciaddr: bravo.address }),
    ]);
    // dnsmasq has handled (or never got) the forged messages once it answers alpha's own, sent after them.
    const own = await port(alpha).ask(
      dhcpFrame(alpha.mac, { type: DHCP.DISCOVER, chaddr: alpha.mac, xid: randomBytes(4).readUInt32BE() }),
      (f) => dhcpReply(f)?.type === DHCP.OFFER && dhcpReply(f)!.chaddr === alpha.mac,
      5_000,
    );
    expect(own).toBeDefined();
    const xid = randomBytes(4).readUInt32BE();
    const offer = await port(bravo).ask(
      dhcpFrame(bravo.mac, { type: DHCP.DISCOVER, chaddr: bravo.mac, xid }),
      (f) => dhcpReply(f)?.type === DHCP.OFFER,
      5_000,
    );
    expect(offer && dhcpReply(offer)).toMatchObject({ yiaddr: bravo.address, chaddr: bravo.mac });
  });

  it('grows no file and only a bounded log under a DHCP flood', async () => {
    const files = await runtimeBytes();
    const log = harness.logBytes();
    const flood = [];
    for (let i = 0; i < 2000; i += 1) {
      flood.push(dhcpFrame(alpha.mac, { type: DHCP.DISCOVER, chaddr: alpha.mac }));
      flood.push(dhcpFrame(alpha.mac, { type: DHCP.REQUEST, chaddr: alpha.mac, requested: '10.131.0.99' }));
    }
    await port(alpha).sendAll(flood);
    // dnsmasq has answered the flood when it answers a DHCP question asked after it.
    const xid = randomBytes(4).readUInt32BE();
    const last = await port(delta).ask(
      dhcpFrame(delta.mac, { type: DHCP.DISCOVER, chaddr: delta.mac, xid }),
      (f) => dhcpReply(f)?.type === DHCP.OFFER && dhcpReply(f)!.chaddr === delta.mac,
      15_000,
      15,
    );
    expect(last).toBeDefined();
    expect((await runtimeBytes()) - files).toBeLessThan(16 * 1024);
    expect(harness.logBytes() - log).toBeLessThan(64 * 1024);
  }, 60_000);

  it('lets no guest reach link-local addresses (cloud metadata), isolated or not', async () => {
    expect(await pings(alpha, '192.168.50.2')).toBe(true);
    expect(await pings(alpha, '169.254.169.254')).toBe(false);
    expect(await pings(charlie, '169.254.169.254')).toBe(false);
  });

  it('lets an isolated guest reach only what lies out of the default route', async () => {
    expect(await pings(charlie, '203.0.113.80')).toBe(true);
    // A guest that is not isolated reaches the vpn: the path exists.
    expect(await pings(alpha, '198.18.0.10')).toBe(true);
    expect(await pings(charlie, '198.18.0.10')).toBe(false);
    expect(await pings(charlie, '203.0.113.200')).toBe(false);
    expect(await pings(charlie, '192.168.50.2')).toBe(false);
  });

  it("answers no guest with another owner's names or addresses, forward or reverse", async () => {
    expect(await resolve(alpha, 'delta.hearth', 'A')).toBe(1);
    expect(await resolve(alpha, reverse(delta.address), 'PTR')).toBe(1);
    expect(await resolve(alpha, 'bravo.hearth', 'A')).toBe(0);
    expect(await resolve(alpha, reverse(bravo.address), 'PTR')).toBe(0);
    expect(await resolve(bravo, 'alpha.hearth', 'A')).toBe(0);
    expect(await resolve(bravo, reverse(alpha.address), 'PTR')).toBe(0);
    expect(await resolve(bravo, 'bravo.hearth', 'A')).toBe(1);
  });
});

describe('a crash while the network comes up', skipWhen(NEEDS_ROOT), () => {
  const nss = new Namespaces();
  let dir: string;

  afterAll(async () => {
    await nss.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('never leaves forwarding on without the rules that restrict it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-crash-'));
    await chmod(dir, 0o711);
    const ws = await nss.add('cws');
    const harness = await HarnessProcess.start(ws, dir, [alpha], {
      HEARTH_TEST_NETWORK_CRASH_AT: 'between-rules-and-forwarding',
    });
    expect(await harness.exited).toMatchObject({ signal: 'SIGKILL' });
    const tables = await inNs(ws, ['nft', 'list', 'tables']);
    const forwarding = (await inNs(ws, ['cat', '/proc/sys/net/ipv4/ip_forward'])).trim();
    expect({ forwarding, restricted: tables.includes('inet hearth') }).toEqual({ forwarding: '0', restricted: true });
  }, 60_000);
});

function arpAnnounce(g: FakeGuest): Buffer {
  const arp = Buffer.alloc(28);
  arp.writeUInt16BE(1, 0);
  arp.writeUInt16BE(ETH_IP, 2);
  arp[4] = 6;
  arp[5] = 4;
  arp.writeUInt16BE(1, 6);
  Buffer.from(g.mac.split(':').map((h) => parseInt(h, 16))).copy(arp, 8);
  Buffer.from(g.address.split('.').map(Number)).copy(arp, 14);
  Buffer.from(g.address.split('.').map(Number)).copy(arp, 24);
  return arp;
}
