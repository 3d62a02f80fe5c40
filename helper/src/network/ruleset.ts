/**
 * The nftables rules hearthd owns, as text, from the environments on the bridge. Pure, so the
 * whole policy can be read and tested here; nft.ts applies it in one transaction. Two tables,
 * both hearthd's alone and always replaced whole:
 * - `bridge hearth`: what a TAP may send (its MAC and address only) and which TAPs may talk to
 *   each other (one owner's non-isolated guests), at layer 2, where bridged frames are seen
 *   whether or not br_netfilter is loaded;
 * - `inet hearth`: NAT out, forwarding, what guests may reach on the host, which local users may
 *   reach a guest (`meta skuid`), and which DNS answerer (their owner's) a guest's questions go to.
 */
import { DNS_PORTS } from './guest-network.js';

export interface Member {
  tap: string;
  mac: string;
  address: string;
  /** The owner's uid: only they (and root) reach the guest from the host; their guests reach each other. */
  owner: number;
  isolated: boolean;
  /** The port of its owner's DNS answerer on the bridge address (one of DNS_PORTS). */
  dnsPort: number;
}

export interface RulesetInput {
  bridge: string;
  /** `10.131.0.0/24` */
  subnet: string;
  bridgeAddress: string;
  members: readonly Member[];
  /** dnsmasq's uid: its DHCP replies to guests are new packets, not replies conntrack knows. */
  dnsmasqUid: number;
  /** hearthd turned IPv4 forwarding on: then it forwards for hearth0 only, nothing else. */
  forwardOnlyBridge: boolean;
  /** Interfaces the host's default routes leave by: an isolated guest's traffic leaves by one of them or not at all. */
  defaultDevices: readonly string[];
  /** Every prefix the host routes other than by a default route (a LAN, a VPN): refused to isolated guests. */
  routedElsewhere: readonly string[];
}

export const TABLE_INET = 'inet hearth';
export const TABLE_BRIDGE = 'bridge hearth';

/** Link-local space, cloud metadata (169.254.169.254) included: no guest reaches it, isolated or not. */
export const LINK_LOCAL = '169.254.0.0/16';

/**
 * What an isolated guest never reaches, whatever the routes say: this network, private, shared
 * (CGNAT), loopback, link-local, benchmarking, multicast and reserved space. The host's own
 * addresses are refused in `input`, whatever they are.
 */
export const REFUSED_FOR_ISOLATED = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  LINK_LOCAL,
  '172.16.0.0/12',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/4',
  '240.0.0.0/4',
] as const;

const q = (name: string) => `"${name}"`;
const set = (items: readonly string[]) => `{ ${items.join(', ')} }`;
const hex = (bytes: number[]) => `0x${bytes.map((b) => b.toString(16).padStart(2, '0')).join('')}`;
const DNS_RANGE = `${DNS_PORTS.first}-${DNS_PORTS.last}`;

/**
 * `table X` then `delete table X` then the table: one `nft -f` transaction that replaces it
 * whether or not it existed, so no moment is without rules and nothing else is touched.
 */
function replace(table: string, body: string[]): string {
  return [`table ${table}`, `delete table ${table}`, `table ${table} {`, ...body, '}'].join('\n');
}

/** Text that removes both tables (and succeeds when they are not there). */
export function removalText(): string {
  return [TABLE_INET, TABLE_BRIDGE].flatMap((t) => [`table ${t}`, `delete table ${t}`]).join('\n') + '\n';
}

export function renderRuleset(input: RulesetInput): string {
  return `${renderBridgeTable(input)}\n${renderInetTable(input)}\n`;
}

function peersOf(member: Member, members: readonly Member[]): string[] {
  if (member.isolated) return [];
  return members.filter((m) => m !== member && !m.isolated && m.owner === member.owner).map((m) => q(m.tap));
}

export function renderBridgeTable({ subnet, bridgeAddress, members }: RulesetInput): string {
  const spoofing = members.flatMap((m) => {
    const port = `iifname ${q(m.tap)}`;
    return [
      `    ${port} ether saddr != ${m.mac} drop`,
      `    ${port} ether type != { ip, arp } drop`,
      `    ${port} arp saddr ether != ${m.mac} drop`,
      // 0.0.0.0: ARP probes before an address is taken, and DHCP before it is given.
      `    ${port} arp saddr ip != { 0.0.0.0, ${m.address} } drop`,
      // dnsmasq believes the DHCP message, not the frame: it must speak for this guest alone
      // (Ethernet, its MAC as chaddr, no address or its own as ciaddr), or a DECLINE or RELEASE
      // in another's name takes that guest's reservation.
      `    ${port} udp dport 67 @th,72,16 != 0x0106 drop`,
      `    ${port} udp dport 67 @th,288,48 != ${hex(m.mac.split(':').map((h) => parseInt(h, 16)))} drop`,
      `    ${port} udp dport 67 @th,160,32 != 0 @th,160,32 != ${hex(m.address.split('.').map(Number))} drop`,
      `    ${port} ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept`,
      // Only dnsmasq answers DHCP: a guest's offers would reach its owner's other guests.
      `    ${port} udp sport 67 drop`,
      `    ${port} ip saddr != ${m.address} drop`,
      `    ${port} accept`,
    ];
  });
  const peering = members.flatMap((m) => {
    const peers = peersOf(m, members);
    return peers.length ? [`    iifname ${q(m.tap)} oifname ${set(peers)} accept`] : [];
  });
  return replace(TABLE_BRIDGE, [
    '  chain prerouting {',
    '    type filter hook prerouting priority filter; policy accept;',
    ...spoofing,
    // A TAP hearthd has not (or no longer) registered sends nothing.
    '    iifname "hth*" drop',
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    // Guest to guest goes over the bridge, where `forward` decides; never routed through the host.
    `    iifname "hth*" ip daddr ${subnet} ip daddr != ${bridgeAddress} drop`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...peering,
    '    iifname "hth*" oifname "hth*" drop',
    '  }',
  ]);
}

export function renderInetTable(input: RulesetInput): string {
  const { bridge, subnet, bridgeAddress, members, dnsmasqUid, forwardOnlyBridge } = input;
  const br = q(bridge);
  const isolated = members.filter((m) => m.isolated).map((m) => m.address);
  const reach = members.map((m) => `    oifname ${br} ip daddr ${m.address} meta skuid ${m.owner} accept`);
  const dns = 'meta l4proto { tcp, udp } th dport';
  const toOwnersDns = members.map(
    (m) => `    iifname ${br} ip saddr ${m.address} ip daddr ${bridgeAddress} ${dns} 53 redirect to :${m.dnsPort}`,
  );
  const refused = [...input.routedElsewhere, ...REFUSED_FOR_ISOLATED];
  const leaves = input.defaultDevices.length
    ? [`    iifname ${br} ip saddr @isolated oifname != ${set(input.defaultDevices.map(q))} drop`]
    : [`    iifname ${br} ip saddr @isolated drop`];
  return replace(TABLE_INET, [
    '  set isolated {',
    '    type ipv4_addr;',
    ...(isolated.length ? [`    elements = ${set(isolated)}`] : []),
    '  }',
    '  set refused {',
    '    type ipv4_addr; flags interval; auto-merge;',
    `    elements = ${set(refused)}`,
    '  }',
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...toOwnersDns,
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    iifname ${br} udp sport 68 udp dport 67 accept`,
    `    iifname ${br} ip daddr ${LINK_LOCAL} drop`,
    // An answerer is reached only through the redirect above, which picks the owner's.
    `    iifname ${br} ${dns} ${DNS_RANGE} ct status & dnat != dnat drop`,
    // Nor do the host's users ask them: each knows one owner's guests.
    `    iifname != ${br} ip daddr ${bridgeAddress} ${dns} ${DNS_RANGE} drop`,
    `    iifname ${br} ip saddr @isolated ct state established,related accept`,
    `    iifname ${br} ip saddr @isolated ip daddr ${bridgeAddress} ${dns} ${DNS_RANGE} accept`,
    `    iifname ${br} ip saddr @isolated drop`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    oifname ${br} ct state established,related accept`,
    // Seen here only with br_netfilter; the bridge table has already decided.
    `    iifname ${br} oifname ${br} accept`,
    `    oifname ${br} drop`,
    `    iifname ${br} ip daddr ${LINK_LOCAL} drop`,
    // Isolation is an allow-list: out of a default route, and to nothing refused or routed elsewhere.
    `    iifname ${br} ip saddr @isolated ip daddr @refused drop`,
    ...leaves,
    `    iifname ${br} ip saddr ${subnet} accept`,
    `    iifname ${br} drop`,
    ...(forwardOnlyBridge ? ['    meta nfproto ipv4 drop'] : []),
    '  }',
    '  chain output {',
    '    type filter hook output priority filter; policy accept;',
    `    oifname ${br} ct state established,related accept`,
    `    oifname ${br} meta skuid 0 accept`,
    `    oifname ${br} meta skuid ${dnsmasqUid} udp sport 67 udp dport 68 accept`,
    ...reach,
    `    oifname ${br} drop`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${subnet} oifname != ${br} masquerade`,
    '  }',
  ]);
}
