import { describe, expect, it } from 'vitest';
import { allocateNetwork } from '../../src/network/allocate.js';
import { dhcpInstance, ownerDnsInstance, reverseZone } from '../../src/network/dnsmasq.js';
import { forwardDropsOf, remedyCommand } from '../../src/network/host-firewall.js';
import { tapName } from '../../src/network/names.js';
import { overlappingRoute, routePolicy } from '../../src/network/routes.js';
import { removalText, renderRuleset, type Member } from '../../src/network/ruleset.js';
import { parseSubnet } from '../../src/network/subnet.js';

/** The pure parts of the network: what the rules, dnsmasq's command line and the checks say. */
const member = (n: number, owner: number, isolated = false): Member => ({
  tap: `hth00000000000${n}`,
  mac: `52:54:00:00:00:0${n}`,
  address: `10.131.0.${n + 1}`,
  owner,
  isolated,
  dnsPort: owner === 1000 ? 15300 : 15301,
});
const input = (members: Member[], forwardOnlyBridge = false) => ({
  bridge: 'hearth0',
  subnet: '10.131.0.0/24',
  bridgeAddress: '10.131.0.1',
  members,
  dnsmasqUid: 999,
  forwardOnlyBridge,
  defaultDevices: ['eth0'],
  routedElsewhere: ['192.168.1.0/24', '203.0.113.128/25'],
});
const lines = (text: string) => text.split('\n').map((l) => l.trim());

describe('the ruleset', () => {
  const text = renderRuleset(input([member(1, 1000), member(2, 1000), member(3, 2000), member(4, 1000, true)]));

  it('replaces exactly its own two tables, and removes only those', () => {
    expect(text.match(/^(delete )?table \S+ \S+ ?\{?$/gm)).toEqual([
      'table bridge hearth',
      'delete table bridge hearth',
      'table bridge hearth {',
      'table inet hearth',
      'delete table inet hearth',
      'table inet hearth {',
    ]);
    expect(removalText()).toBe(
      'table inet hearth\ndelete table inet hearth\ntable bridge hearth\ndelete table bridge hearth\n',
    );
  });

  it('lets each TAP send only from its MAC and address (DHCP and ARP probes from 0.0.0.0)', () => {
    const own = lines(text).filter((l) => l.startsWith('iifname "hth000000000001"'));
    expect(own).toEqual([
      'iifname "hth000000000001" ether saddr != 52:54:00:00:00:01 drop',
      'iifname "hth000000000001" ether type != { ip, arp } drop',
      'iifname "hth000000000001" arp saddr ether != 52:54:00:00:00:01 drop',
      'iifname "hth000000000001" arp saddr ip != { 0.0.0.0, 10.131.0.2 } drop',
      'iifname "hth000000000001" udp dport 67 @th,72,16 != 0x0106 drop',
      'iifname "hth000000000001" udp dport 67 @th,288,48 != 0x525400000001 drop',
      'iifname "hth000000000001" udp dport 67 @th,160,32 != 0 @th,160,32 != 0x0a830002 drop',
      'iifname "hth000000000001" ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept',
      'iifname "hth000000000001" udp sport 67 drop',
      'iifname "hth000000000001" ip saddr != 10.131.0.2 drop',
      'iifname "hth000000000001" accept',
      'iifname "hth000000000001" oifname { "hth000000000002" } accept',
    ]);
    expect(lines(text)).toContain('iifname "hth*" drop');
  });

  it("bridges one owner's non-isolated guests to each other and nobody else", () => {
    expect(lines(text)).toContain('iifname "hth000000000002" oifname { "hth000000000001" } accept');
    expect(text).not.toMatch(/iifname "hth000000000003" oifname/);
    expect(text).not.toMatch(/iifname "hth000000000004" oifname/);
    expect(lines(text)).toContain('iifname "hth*" oifname "hth*" drop');
  });

  it('keeps isolated guests to what lies out of a default route, and DNS; no guest reaches link-local space', () => {
    expect(lines(text)).toContain('elements = { 10.131.0.5 }');
    expect(lines(text)).toContain(
      'elements = { 192.168.1.0/24, 203.0.113.128/25, 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 198.18.0.0/15, 224.0.0.0/4, 240.0.0.0/4 }',
    );
    const forward = lines(text.slice(text.indexOf('chain forward {', text.indexOf('table inet hearth {'))));
    expect(forward.slice(5, 9)).toEqual([
      'iifname "hearth0" ip daddr 169.254.0.0/16 drop',
      'iifname "hearth0" ip saddr @isolated ip daddr @refused drop',
      'iifname "hearth0" ip saddr @isolated oifname != { "eth0" } drop',
      'iifname "hearth0" ip saddr 10.131.0.0/24 accept',
    ]);
    expect(lines(renderRuleset({ ...input([member(4, 1000, true)]), defaultDevices: [] }))).toContain(
      'iifname "hearth0" ip saddr @isolated drop',
    );
    expect(lines(text)).toContain(
      'iifname "hearth0" ip saddr @isolated ip daddr 10.131.0.1 meta l4proto { tcp, udp } th dport 15300-16299 accept',
    );
    expect(lines(text)).toContain('iifname "hearth0" ip saddr @isolated drop');
  });

  it("sends each guest's DNS questions to its owner's answerer, and nobody to an answerer directly", () => {
    expect(lines(text)).toEqual(
      expect.arrayContaining([
        'iifname "hearth0" ip saddr 10.131.0.2 ip daddr 10.131.0.1 meta l4proto { tcp, udp } th dport 53 redirect to :15300',
        'iifname "hearth0" ip saddr 10.131.0.4 ip daddr 10.131.0.1 meta l4proto { tcp, udp } th dport 53 redirect to :15301',
        'iifname "hearth0" meta l4proto { tcp, udp } th dport 15300-16299 ct status & dnat != dnat drop',
        'iifname != "hearth0" ip daddr 10.131.0.1 meta l4proto { tcp, udp } th dport 15300-16299 drop',
      ]),
    );
  });

  it("lets only the owner (and root, and dnsmasq's DHCP) reach a guest from the host", () => {
    const out = lines(text).filter((l) => l.startsWith('oifname "hearth0"'));
    expect(out).toEqual(
      expect.arrayContaining([
        'oifname "hearth0" meta skuid 0 accept',
        'oifname "hearth0" meta skuid 999 udp sport 67 udp dport 68 accept',
        'oifname "hearth0" ip daddr 10.131.0.2 meta skuid 1000 accept',
        'oifname "hearth0" ip daddr 10.131.0.4 meta skuid 2000 accept',
        'oifname "hearth0" drop',
      ]),
    );
    expect(out.at(-1)).toBe('oifname "hearth0" drop');
  });

  it('masquerades the subnet out of any interface but the bridge, and drops other forwarding only if it turned forwarding on', () => {
    expect(lines(text)).toContain('ip saddr 10.131.0.0/24 oifname != "hearth0" masquerade');
    expect(lines(text)).not.toContain('meta nfproto ipv4 drop');
    expect(lines(renderRuleset(input([member(1, 1000)], true)))).toContain('meta nfproto ipv4 drop');
  });
});

describe('network allocation and names', () => {
  it('takes the lowest free host and a MAC no one has', () => {
    const subnet = parseSubnet('10.131.0.0/24');
    const taken = [
      { host: 2, mac: '52:54:00:00:00:01', isolated: false },
      { host: 4, mac: '52:54:00:00:00:02', isolated: false },
    ];
    const next = allocateNetwork(taken, subnet, true);
    expect(next.host).toBe(3);
    expect(next.isolated).toBe(true);
    expect(next.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(taken.map((t) => t.mac)).not.toContain(next.mac);
  });

  it('refuses when the subnet is full', () => {
    const subnet = parseSubnet('10.131.0.0/30');
    expect(() => allocateNetwork([{ host: 2, mac: '52:54:00:00:00:01', isolated: false }], subnet, false)).toThrow(
      /no free address/,
    );
  });

  it('names a TAP from the environment id, within the kernel limit', () => {
    expect(tapName('env-0123456789ab')).toBe('hth0123456789ab');
    expect(tapName('env-0123456789ab')).toHaveLength(15);
    expect(() => tapName('../etc')).toThrow();
  });
});

describe('dnsmasq', () => {
  const user = { name: 'dnsmasq', uid: 999, gid: 65534, group: 'nogroup' };
  const subnet = parseSubnet('10.131.0.0/24');
  const common = { subnet, bridgeAddress: '10.131.0.1', dir: '/run/hearth/dnsmasq', user };
  const web = { mac: '52:54:00:00:00:01', address: '10.131.0.2', name: 'web' };
  const dhcp = dhcpInstance({ ...common, bridge: 'hearth0' }, [web]);
  const dns = ownerDnsInstance({ ...common, owner: 1000, port: 15300 }, [web]);

  it('serves DHCP on the bridge only: static reservations, no DNS, no lease file, script, ping or line per packet', () => {
    expect(dhcp.args).toEqual(
      expect.arrayContaining([
        '--conf-file=/dev/null',
        '--port=0',
        '--bind-interfaces',
        '--interface=hearth0',
        '--except-interface=lo',
        '--dhcp-hostsfile=/run/hearth/dnsmasq/dhcp/dhcp-hosts',
        '--dhcp-range=10.131.0.0,static,255.255.255.0,12h',
        '--dhcp-option=option:dns-server,10.131.0.1',
        '--dhcp-ignore-names',
        '--leasefile-ro',
        '--no-ping',
        '--quiet-dhcp',
        '--log-facility=-',
        '--user=dnsmasq',
        '--group=nogroup',
      ]),
    );
    expect(dhcp.args.some((a) => a.startsWith('--dhcp-script') || a.startsWith('--log-dhcp'))).toBe(false);
    expect(dhcp.files).toEqual({ 'dhcp-hosts': '52:54:00:00:00:01,10.131.0.2,web\n' });
  });

  it("answers one owner's names, forward and reverse, and keeps the rest of .hearth and the subnet local", () => {
    expect(dns.key).toBe('owner-1000');
    expect(dns.args).toEqual(
      expect.arrayContaining([
        '--port=15300',
        '--listen-address=10.131.0.1',
        '--no-hosts',
        '--addn-hosts=/run/hearth/dnsmasq/owner-1000/hosts',
        '--local=/hearth/',
        '--local=/0.131.10.in-addr.arpa/',
      ]),
    );
    expect(dns.args.some((a) => a.startsWith('--dhcp'))).toBe(false);
    expect(dns.files).toEqual({ hosts: '10.131.0.2 web.hearth web\n' });
    expect(reverseZone(parseSubnet('10.131.0.0/20'))).toBe('131.10.in-addr.arpa');
  });
});

describe('host firewall and routes', () => {
  const ruleset = (chains: object[], rules: object[] = []) => ({
    nftables: [...chains.map((chain) => ({ chain })), ...rules.map((rule) => ({ rule }))],
  });

  it("finds forward chains of other tables that drop, but not hearthd's own", () => {
    const drops = forwardDropsOf(
      ruleset(
        [
          { family: 'ip', table: 'filter', name: 'FORWARD', hook: 'forward', policy: 'drop' },
          { family: 'ip', table: 'filter', name: 'DOCKER-USER' },
          { family: 'inet', table: 'firewalld', name: 'filter_FORWARD', hook: 'forward', policy: 'accept' },
          { family: 'inet', table: 'hearth', name: 'forward', hook: 'forward', policy: 'drop' },
          { family: 'inet', table: 'other', name: 'fwd', hook: 'forward', policy: 'accept' },
        ],
        [
          { family: 'inet', table: 'firewalld', chain: 'filter_FORWARD', expr: [{ reject: { type: 'icmpx' } }] },
          { family: 'inet', table: 'other', chain: 'fwd', expr: [{ match: {} }, { drop: null }] },
        ],
      ),
    );
    expect(drops.map((d) => [d.table, d.by, d.docker])).toEqual([
      ['filter', 'policy', true],
      ['firewalld', 'rule', false],
    ]);
    expect(remedyCommand(drops[1]!, 'hearth0')).toBe(
      'sudo firewall-cmd --permanent --zone=trusted --add-interface=hearth0 && sudo firewall-cmd --reload',
    );
  });

  it('names the first unicast route that overlaps the subnet, ignoring the default and the bridge', () => {
    const subnet = parseSubnet('10.131.0.0/24');
    const routes = [
      { dst: 'default', dev: 'eth0' },
      { dst: '10.131.0.0/24', dev: 'hearth0' },
      { dst: '10.131.0.1', dev: 'hearth0', type: 'local', table: 'local' },
      { dst: '10.0.0.0/8', dev: 'tun0' },
    ];
    expect(overlappingRoute(subnet, routes, 'hearth0')).toEqual({ dst: '10.0.0.0/8', dev: 'tun0' });
    expect(overlappingRoute(subnet, routes.slice(0, 3), 'hearth0')).toBeUndefined();
    expect(overlappingRoute(subnet, [{ dst: '10.131.0.77', dev: 'wg0' }], 'hearth0')).toMatchObject({ dev: 'wg0' });
  });

  it('isolates by the routes: default routes give the way out, every other route a prefix refused', () => {
    const routes = [
      { dst: 'default', dev: 'eth0', gateway: '192.0.2.1' },
      { dst: 'default', dev: 'wg0', table: '51820' },
      { dst: '192.0.2.0/24', dev: 'eth0' },
      { dst: '198.51.100.7', dev: 'tun0' },
      { dst: '10.131.0.0/24', dev: 'hearth0' },
      { dst: '10.131.0.1', dev: 'hearth0', type: 'local', table: 'local' },
      { dst: 'default', dev: 'bad"name' },
    ];
    expect(routePolicy(routes, 'hearth0')).toEqual({
      defaultDevices: ['eth0', 'wg0'],
      routedElsewhere: ['192.0.2.0/24', '198.51.100.7/32'],
    });
  });
});
