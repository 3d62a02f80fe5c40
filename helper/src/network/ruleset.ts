/**
 * The nftables rules hearthd owns, as text, from the environments on the bridge. Pure, so the
 * whole policy can be read and tested here; nft.ts applies it in one transaction. Two tables,
 * both hearthd's alone and always replaced whole:
 * - `bridge hearth`: what a TAP may send (its MAC and address only) and which TAPs may talk to
 *   each other (one owner's non-isolated guests), at layer 2, where bridged frames are seen
 *   whether or not br_netfilter is loaded;
 * - `inet hearth`: NAT out, forwarding, what guests may reach on the host, and which local users
 *   may reach a guest (`meta skuid`).
 */

export interface Member {
  tap: string;
  mac: string;
  address: string;
  /** The owner's uid: only they (and root) reach the guest from the host; their guests reach each other. */
  owner: number;
  isolated: boolean;
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
}

export const TABLE_INET = 'inet hearth';
export const TABLE_BRIDGE = 'bridge hearth';

/**
 * What an isolated guest may not reach: private, shared (CGNAT), loopback, link-local (cloud
 * metadata at 169.254.169.254) and multicast/reserved space. The host's own addresses are
 * refused in `input`, whatever they are.
 */
export const NON_INTERNET = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '224.0.0.0/3',
] as const;

const q = (name: string) => `"${name}"`;
const set = (items: readonly string[]) => `{ ${items.join(', ')} }`;

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
  return replace(TABLE_INET, [
    '  set isolated {',
    '    type ipv4_addr;',
    ...(isolated.length ? [`    elements = ${set(isolated)}`] : []),
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    iifname ${br} udp sport 68 udp dport 67 accept`,
    `    iifname ${br} ip saddr @isolated ct state established,related accept`,
    `    iifname ${br} ip saddr @isolated ip daddr ${bridgeAddress} udp dport 53 accept`,
    `    iifname ${br} ip saddr @isolated ip daddr ${bridgeAddress} tcp dport 53 accept`,
    `    iifname ${br} ip saddr @isolated drop`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    oifname ${br} ct state established,related accept`,
    // Seen here only with br_netfilter; the bridge table has already decided.
    `    iifname ${br} oifname ${br} accept`,
    `    oifname ${br} drop`,
    `    iifname ${br} ip saddr @isolated ip daddr ${set(NON_INTERNET)} drop`,
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
