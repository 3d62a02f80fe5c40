import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsmasqUser } from '../../src/network/dnsmasq.js';
import { NetworkProcess, type HarnessSpec as Spec } from './support/network-process.js';
import { inNs, Namespaces, succeeds } from './support/topology.js';
import { NEEDS_ROOT, skipWhen } from '../support/skip.js';

/**
 * The host side of guests' networking, for real: bridge, TAPs, nftables, forwarding and dnsmasq
 * made by the network code running with the unit's privileges inside a "workstation" namespace,
 * with "internet", "lan" and "third" namespaces around it and fake guests (namespaces on the
 * bridge in place of a VM's TAP, with its MAC) that use real DHCP, DNS and HTTP.
 */
const OWNER = 1000;
const OTHER_OWNER = 2000;
const STRANGER = 4343;

function specOf(n: number, name: string, owner: number, isolated = false): Spec {
  return {
    id: `env-${n.toString(16).padStart(12, '0')}`,
    name,
    owner: { uid: owner },
    class: 'small',
    image: 'debian-12',
    resources: { cpus: 1, memoryMiB: 512, diskGiB: 4 },
    desired: 'running',
    autostart: false,
    createdAt: new Date().toISOString(),
    network: { host: n + 1, mac: `52:54:00:00:00:${n.toString(16).padStart(2, '0')}`, isolated },
  };
}

const web1 = specOf(1, 'web1', OWNER);
const web2 = specOf(2, 'web2', OTHER_OWNER);
const locked = specOf(3, 'locked', OWNER, true);
const web4 = specOf(4, 'web4', OWNER);
const all = [web1, web2, locked, web4];
const address = (spec: Spec) => `10.131.0.${spec.network!.host}`;

describe('the guests network in a workstation namespace', skipWhen(NEEDS_ROOT), () => {
  const nss = new Namespaces();
  let dir: string;
  let ws: string;
  let inet: string;
  let lan: string;
  let third: string;
  let net: NetworkProcess;
  const guests = new Map<string, string>();

  // curl, not busybox wget: the static busybox's wget crashes with -q.
  const fetch = (url: string) => ['curl', '-sS', '--max-time', '3', url];
  const get = (ns: string, url: string) => succeeds(ns, fetch(url));
  const body = (ns: string, url: string) => inNs(ns, fetch(url));
  const forwarding = async () => (await inNs(ws, ['cat', '/proc/sys/net/ipv4/ip_forward'])).trim();
  const links = async () =>
    (JSON.parse(await inNs(ws, ['ip', '-j', 'link', 'show'])) as { ifname: string }[]).map((l) => l.ifname);
  const tables = async () => (await inNs(ws, ['nft', 'list', 'tables'])).trim().split('\n').filter(Boolean);
  const dnsmasqPids = async () => {
    const pids = (await inNs(ws, ['ip', 'netns', 'pids', ws]).catch(() => '')).split(/\s+/).filter(Boolean);
    const found: number[] = [];
    for (const pid of pids)
      if ((await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim() === 'dnsmasq') found.push(Number(pid));
    return found;
  };
  const startNet = async () => {
    net = NetworkProcess.start(ws, join(dir, 'run'), join(dir, 'state'));
    await net.open();
  };

  /** A namespace on the bridge in place of the VM: the TAP's name and the VM's MAC. */
  async function fakeGuest(spec: Spec, tap: string): Promise<string> {
    const ns = await nss.add(spec.name);
    await inNs(ws, ['ip', 'link', 'del', tap]);
    await inNs(ws, ['ip', 'link', 'add', tap, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await inNs(ws, ['ip', 'link', 'set', tap, 'master', 'hearth0', 'up']);
    await inNs(ns, ['ip', 'link', 'set', 'eth0', 'address', spec.network!.mac, 'up']);
    guests.set(spec.name, ns);
    return ns;
  }

  /** udhcpc in the guest; the address it was given (and configured). */
  async function dhcp(ns: string, extra: string[] = []): Promise<string> {
    const lease = join(dir, `${ns}.lease`);
    await inNs(ns, [
      'env',
      `LEASE_FILE=${lease}`,
      'busybox',
      'udhcpc',
      '-i',
      'eth0',
      '-f',
      '-q',
      '-n',
      '-t',
      '5',
      '-T',
      '1',
      '-s',
      join(dir, 'udhcpc.sh'),
      ...extra,
    ]);
    return (await readFile(lease, 'utf8')).trim();
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-net-'));
    await chmod(dir, 0o711);
    await writeFile(
      join(dir, 'udhcpc.sh'),
      [
        '#!/bin/sh',
        'if [ "$1" = bound ]; then',
        '  busybox ifconfig "$interface" "$ip" netmask "$subnet"',
        '  busybox route add default gw "$router"',
        '  echo "$ip" > "$LEASE_FILE"',
        'fi',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    for (const [name, text] of [
      ['inet', 'internet'],
      ['lan', 'lan'],
      ['third', 'third'],
      ['ws', 'workstation'],
    ]) {
      await mkdir(join(dir, 'www', name!), { recursive: true });
      await writeFile(join(dir, 'www', name!, 'index.html'), `${text}\n`);
    }
    ws = await nss.add('ws');
    inet = await nss.add('inet');
    lan = await nss.add('lan');
    third = await nss.add('third');
    await nss.link(ws, 'up1', '192.0.2.1/24', inet, 'eth0', '192.0.2.2/24');
    await nss.link(ws, 'up2', '198.51.100.1/24', inet, 'eth1', '198.51.100.2/24');
    await inNs(inet, ['ip', 'addr', 'add', '203.0.113.80/24', 'dev', 'lo']);
    await inNs(ws, ['ip', 'route', 'add', 'default', 'via', '192.0.2.2']);
    await nss.link(ws, 'lan0', '192.168.50.1/24', lan, 'eth0', '192.168.50.2/24');
    await inNs(lan, ['ip', 'route', 'add', 'default', 'via', '192.168.50.1']);
    // The "cloud metadata" address lives in lan, so a guest could reach it were it not isolated.
    await inNs(lan, ['ip', 'addr', 'add', '169.254.169.254/32', 'dev', 'lo']);
    await inNs(ws, ['ip', 'route', 'add', '169.254.169.254/32', 'via', '192.168.50.2']);
    await nss.link(ws, 'third0', '172.31.9.1/24', third, 'eth0', '172.31.9.2/24');
    await inNs(third, ['ip', 'route', 'add', 'default', 'via', '172.31.9.1']);
    await nss.serve(inet, join(dir, 'www', 'inet'), 8080);
    await nss.serve(lan, join(dir, 'www', 'lan'), 8080);
    await nss.serve(third, join(dir, 'www', 'third'), 8080);
    await nss.serve(ws, join(dir, 'www', 'ws'), 8081);
    await startNet();
  }, 60_000);

  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- beforeAll may have failed first
    await net?.kill().catch(() => undefined);
    await nss.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('makes the bridge, a TAP per VM owned by the VMM user, its tables, forwarding and dnsmasq on prepare', async () => {
    expect(await forwarding()).toBe('0');
    const first = await net.prepare(web1);
    expect(first.network).toEqual({ tap: 'hth000000000001', mac: web1.network!.mac });
    const [tap] = JSON.parse(await inNs(ws, ['ip', '-d', '-j', 'link', 'show', 'hth000000000001'])) as {
      master: string;
      linkinfo: { info_kind: string; info_data: { type: string; user: string } };
    }[];
    expect(tap!.master).toBe('hearth0');
    expect(tap!.linkinfo.info_kind).toBe('tun');
    expect(tap!.linkinfo.info_data).toMatchObject({ type: 'tap', user: 'nobody' });
    expect(await inNs(ws, ['ip', '-4', '-br', 'addr', 'show', 'hearth0'])).toContain('10.131.0.1/24');
    expect(await tables()).toEqual(expect.arrayContaining(['table bridge hearth', 'table inet hearth']));
    expect(await forwarding()).toBe('1');
    const [pid] = await dnsmasqPids();
    expect(pid).toBeDefined();
    // It dropped root after binding, to its own user (or nobody).
    const { uid } = await dnsmasqUser();
    expect(uid).not.toBe(0);
    expect(await readFile(`/proc/${pid}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\s+${uid}\\s`, 'm'));
    for (const spec of [web2, locked, web4]) await net.prepare(spec);
    for (const spec of all) await fakeGuest(spec, `hth${spec.id.slice(4)}`);
  }, 60_000);

  it('gives each guest exactly its reservation over DHCP, whatever name or address it asks for', async () => {
    // web1 claims web2's name and address.
    expect(await dhcp(guests.get('web1')!, ['-x', 'hostname:web2', '-r', address(web2)])).toBe(address(web1));
    for (const spec of [web2, locked, web4]) expect(await dhcp(guests.get(spec.name)!)).toBe(address(spec));
    const lookup = (ns: string, name: string) =>
      inNs(ns, ['busybox', 'nslookup', `${name}.hearth`, '10.131.0.1']).catch((error: unknown) => String(error));
    // Names are answered within one owner: web2 is another's, whatever web1 claimed.
    expect(await lookup(guests.get('web1')!, 'web2')).not.toContain(address(web2));
    expect(await lookup(guests.get('web1')!, 'web2')).not.toContain(address(web1));
    expect(await lookup(guests.get('web2')!, 'web2')).toContain(address(web2));
    expect(await lookup(guests.get('web4')!, 'web1')).toContain(address(web1));
    // An isolated guest still has DHCP (above) and DNS.
    expect(await lookup(guests.get('locked')!, 'web1')).toContain(address(web1));
  }, 60_000);

  it('drops what a guest sends from an address that is not its own', async () => {
    const g = guests.get('web1')!;
    expect(await succeeds(g, ['busybox', 'ping', '-c', '1', '-W', '2', '10.131.0.1'])).toBe(true);
    await inNs(g, ['ip', 'addr', 'add', '10.131.0.77/32', 'dev', 'eth0']);
    expect(await succeeds(g, ['busybox', 'ping', '-c', '1', '-W', '2', '-I', '10.131.0.77', '10.131.0.1'])).toBe(false);
    await inNs(g, ['ip', 'addr', 'del', '10.131.0.77/32', 'dev', 'eth0']);
    // Another MAC on the same TAP: nothing gets through, until it is the VM's own again.
    await inNs(g, ['ip', 'link', 'set', 'eth0', 'address', '52:54:00:00:00:99']);
    expect(await succeeds(g, ['busybox', 'ping', '-c', '1', '-W', '2', '10.131.0.1'])).toBe(false);
    await inNs(g, ['ip', 'link', 'set', 'eth0', 'address', web1.network!.mac]);
    expect(await succeeds(g, ['busybox', 'ping', '-c', '1', '-W', '2', '10.131.0.1'])).toBe(true);
  }, 30_000);

  it("lets only the owner's guests and the owner (and root) on the host reach a guest", async () => {
    await mkdir(join(dir, 'www', 'web1'), { recursive: true });
    await writeFile(join(dir, 'www', 'web1', 'index.html'), 'web1\n');
    await nss.serve(guests.get('web1')!, join(dir, 'www', 'web1'), 8000);
    const url = `http://${address(web1)}:8000/`;
    await expect.poll(() => get(ws, url), { timeout: 5_000 }).toBe(true);
    expect(await get(guests.get('web4')!, url)).toBe(true);
    expect(await get(guests.get('web2')!, url)).toBe(false);
    expect(await get(guests.get('locked')!, url)).toBe(false);
    const as = (uid: number) => ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
    expect(await succeeds(ws, [...as(OWNER), ...fetch(url)])).toBe(true);
    expect(await succeeds(ws, [...as(STRANGER), ...fetch(url)])).toBe(false);
    // Nothing from outside starts a connection into the bridge.
    await inNs(lan, ['ip', 'route', 'add', '10.131.0.0/24', 'via', '192.168.50.1']);
    expect(await get(lan, url)).toBe(false);
  }, 60_000);

  it('NATs guests out; an isolated guest reaches the internet only', async () => {
    const g = guests.get('web1')!;
    const isolated = guests.get('locked')!;
    expect(await body(g, 'http://203.0.113.80:8080/')).toBe('internet');
    expect(await body(g, 'http://192.168.50.2:8080/')).toBe('lan');
    // Link-local space (cloud metadata) is no guest's, isolated or not.
    expect(await get(g, 'http://169.254.169.254:8080/')).toBe(false);
    expect(await body(g, 'http://10.131.0.1:8081/')).toBe('workstation');
    expect(await body(isolated, 'http://203.0.113.80:8080/')).toBe('internet');
    for (const url of [
      'http://192.168.50.2:8080/',
      'http://169.254.169.254:8080/',
      'http://10.131.0.1:8081/',
      'http://192.0.2.1:8081/',
      `http://${address(web4)}:8000/`,
    ])
      expect(await get(isolated, url), url).toBe(false);
  }, 60_000);

  it('forwards nothing but the bridge when it turned forwarding on', async () => {
    expect(await forwarding()).toBe('1');
    expect(await get(ws, 'http://172.31.9.2:8080/')).toBe(true);
    expect(await get(lan, 'http://172.31.9.2:8080/')).toBe(false);
  }, 30_000);

  it('keeps NAT working after the default route changes', async () => {
    await inNs(ws, ['ip', 'route', 'replace', 'default', 'via', '198.51.100.2']);
    await inNs(ws, ['ip', 'link', 'set', 'up1', 'down']);
    expect(await body(guests.get('web1')!, 'http://203.0.113.80:8080/')).toBe('internet');
  }, 30_000);

  it('starts dnsmasq again when it dies', async () => {
    const all = await dnsmasqPids();
    const [before] = all;
    process.kill(before!, 'SIGKILL');
    await expect
      .poll(async () => (await dnsmasqPids()).filter((p) => p !== before), { timeout: 10_000 })
      .toHaveLength(all.length);
    const lookup = ['busybox', 'nslookup', 'web1.hearth', '10.131.0.1'];
    await expect
      .poll(() => inNs(guests.get('web4')!, lookup).catch(() => ''), { timeout: 5_000 })
      .toContain(address(web1));
  }, 30_000);

  it('keeps the network across a crash and restart of hearthd, whose dnsmasqs replace the old ones', async () => {
    const before = await dnsmasqPids();
    await net.kill();
    await startNet();
    // The new hearthd reads their errors: it starts its own, and none of the old ones is left.
    const after = await dnsmasqPids();
    expect(after.filter((p) => before.includes(p))).toEqual([]);
    expect(after).toHaveLength(before.length);
    // A guest's resolver asks again when a question goes unanswered: the new answerer answers.
    const lookup = ['busybox', 'nslookup', 'web1.hearth', '10.131.0.1'];
    await expect
      .poll(() => inNs(guests.get('web4')!, lookup).catch(() => ''), { timeout: 5_000 })
      .toContain(address(web1));
    expect(await body(guests.get('web1')!, 'http://203.0.113.80:8080/')).toBe('internet');
    expect(await get(guests.get('web2')!, `http://${address(web1)}:8000/`)).toBe(false);
  }, 60_000);

  it('removes the bridge, its TAPs, both tables and dnsmasq with the last VM, and restores forwarding', async () => {
    for (const spec of all.slice(0, -1)) await net.teardown(spec);
    expect(await links()).toContain('hearth0');
    await net.teardown(all.at(-1)!);
    expect((await links()).filter((l) => l === 'hearth0' || l.startsWith('hth'))).toEqual([]);
    expect(await tables()).toEqual([]);
    expect(await dnsmasqPids()).toEqual([]);
    expect(await forwarding()).toBe('0');
  }, 60_000);

  it('removes what a crash left behind when no networked VM survived it', async () => {
    await net.prepare(web1);
    expect(await links()).toContain('hearth0');
    await net.kill();
    net = NetworkProcess.start(ws, join(dir, 'run'), join(dir, 'state'));
    // The reconciler's recover for a VM whose VMM is gone, then the daemon's reconcile.
    await net.recover(web1);
    await net.open();
    expect((await links()).filter((l) => l === 'hearth0' || l.startsWith('hth'))).toEqual([]);
    expect(await tables()).toEqual([]);
    expect(await dnsmasqPids()).toEqual([]);
    expect(await forwarding()).toBe('0');
    await net.exit();
  }, 60_000);
});
