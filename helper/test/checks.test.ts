import { describe, expect, it } from 'vitest';
import { capacityOf, runChecks } from '../src/readiness/checks.js';
import type { HostFacts } from '../src/readiness/facts.js';
import { kvmBootsGuests } from '../src/readiness/kvm.js';
import { verdictOf } from '../src/readiness/report.js';
import { resolveAccel } from '../src/vmm/accelerator.js';
import { parseOsRelease, packageManagerFor } from '../src/readiness/distro.js';

const GiB = 1024 ** 3;

/** A healthy machine; each test changes the one fact it is about. */
function facts(overrides: Partial<HostFacts> = {}): HostFacts {
  const found = (path: string) => ({ found: true as const, path, version: '1.0' });
  return {
    arch: 'x86_64',
    kernel: '6.8.0',
    distro: { id: 'debian', name: 'Debian', packageManager: 'apt' },
    cpu: { vendor: 'intel', flags: new Set(['vmx']) },
    kvm: { present: true, charDevice: true, open: 'ok' },
    modules: {
      kvm: 'loaded',
      kvm_intel: 'loaded',
      kvm_amd: 'absent',
      kvm_pvm: 'absent',
      tun: 'builtin',
      bridge: 'loaded',
      br_netfilter: 'loaded',
      nf_tables: 'loaded',
      nf_nat: 'loaded',
      nf_conntrack: 'loaded',
      vhost_net: 'loaded',
    },
    ipForward: true,
    memory: { totalBytes: 64 * GiB, availableBytes: 60 * GiB },
    disk: { path: '/var/lib/hearth', freeBytes: 200 * GiB, totalBytes: 500 * GiB },
    tools: {
      'cloud-hypervisor': found('/usr/lib/hearth/bin/cloud-hypervisor'),
      qemu: found('/usr/bin/qemu-system-x86_64'),
      'qemu-img': found('/usr/bin/qemu-img'),
      nft: found('/usr/sbin/nft'),
      iptables: { found: false },
      ip: found('/usr/sbin/ip'),
      dnsmasq: found('/usr/sbin/dnsmasq'),
    },
    cloudHypervisorFirmware: '/usr/lib/hearth/firmware/hypervisor-fw',
    tun: { present: true, charDevice: true },
    vhostNet: { present: true, charDevice: true },
    network: {
      bridge: 'hearth0',
      subnet: '10.131.0.0/24',
      forwardDrops: [],
      routes: [
        { dst: 'default', gateway: '192.168.1.1', dev: 'eth0' },
        { dst: '192.168.1.0/24', dev: 'eth0' },
      ],
    },
    ...overrides,
  };
}

const statusOf = (f: HostFacts, id: string) => runChecks(f).find((c) => c.id === id)?.status;

describe('readiness judgements', () => {
  it('passes every check on a healthy machine', () => {
    expect(runChecks(facts()).filter((c) => c.status !== 'pass')).toEqual([]);
  });

  it.each([
    [9.9, 'fail'],
    [10, 'warn'],
    [49.9, 'warn'],
    [50, 'pass'],
  ])('judges %s GiB free disk as %s', (free, status) => {
    const disk = { path: '/var/lib/hearth', freeBytes: free * GiB, totalBytes: 500 * GiB };
    expect(statusOf(facts({ disk }), 'disk')).toBe(status);
  });

  it.each([
    [2, 0, 'fail'],
    [2.2, 1, 'warn'],
    [4.2, 2, 'pass'],
    [200, 10, 'pass'],
  ])('with %s GiB available fits %s environments (%s)', (available, environments, status) => {
    const f = facts({ memory: { totalBytes: 256 * GiB, availableBytes: available * GiB } });
    expect(capacityOf(f).environments).toBe(environments);
    expect(statusOf(f, 'memory')).toBe(status);
  });

  it('warns, and says why, under a paravirtual KVM such as kvm_pvm', () => {
    const f = facts({
      cpu: { vendor: 'intel', flags: new Set(['hypervisor']) },
      modules: { ...facts().modules, kvm_intel: 'absent', kvm_pvm: 'builtin' },
    });
    const checks = runChecks(f);
    expect(checks.find((c) => c.id === 'kvm-kind')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/kvm_pvm.*emulated \(QEMU TCG\)/),
    });
    expect(checks.find((c) => c.id === 'cpu-virtualization')?.status).toBe('warn');
    // kvm_pvm stands in for kvm_intel, and neither it nor kvm is "ready": they cannot boot guests.
    const modules = checks.find((c) => c.id === 'kernel-modules')!;
    expect(modules.status).toBe('pass');
    expect(modules.detail).toContain('no KVM that boots standard guests: kvm, kvm_pvm');
    expect(modules.detail).not.toMatch(/ready: [^;]*kvm/);
    expect(verdictOf(checks, 3, true).reason).toMatch(/^Works emulated \(QEMU TCG\), many times slower/);
  });

  /** Like the CI machines: kvm_pvm is loaded in the kernel, but the container has no /dev/kvm. */
  const withoutKvm = () =>
    facts({
      cpu: { vendor: 'intel', flags: new Set(['hypervisor']) },
      kvm: { present: false, open: undefined },
      modules: { ...facts().modules, kvm_intel: 'available', kvm_pvm: 'loaded' },
    });

  it('without /dev/kvm and the accelerator auto, runs emulated: every KVM check warns and none says otherwise', () => {
    const checks = runChecks(withoutKvm());
    const kvmChecks = checks.filter((c) => c.category === 'kvm');
    expect(kvmChecks.map((c) => c.status)).toEqual(['warn', 'warn', 'warn', 'warn']);
    expect(kvmChecks.map((c) => c.detail).join(' ')).not.toMatch(/paravirtual|kvm_pvm/i);
    expect(checks.find((c) => c.id === 'kvm-kind')).toMatchObject({
      detail: 'No KVM (/dev/kvm does not exist): environments run emulated (QEMU TCG), many times slower',
      remedy: { command: expect.stringContaining('sudo modprobe -a kvm kvm_intel') },
    });
    expect(checks.find((c) => c.id === 'kvm-kind')?.remedy?.summary).toContain('nested virtualization');
    const modules = checks.find((c) => c.id === 'kernel-modules')!;
    expect(modules.detail).not.toMatch(/ready: [^;]*kvm/);
    expect(modules.detail).toContain('no KVM that boots standard guests: kvm');
    expect(modules.detail).toContain('not loaded: kvm_intel');
    expect(verdictOf(checks, 3, true)).toMatchObject({
      verdict: 'degraded',
      reason: expect.stringMatching(/^Works emulated \(QEMU TCG\), many times slower \(room for 3 environments\): /),
    });
  });

  it('fails a missing KVM only when the accelerator is pinned to kvm', () => {
    const pinned = runChecks(withoutKvm(), { accel: 'kvm' });
    expect(pinned.find((c) => c.id === 'kvm-kind')).toMatchObject({
      status: 'fail',
      remedy: { summary: expect.stringContaining('set the accelerator to auto') },
    });
    expect(pinned.find((c) => c.id === 'kvm-device')?.status).toBe('fail');
    expect(verdictOf(pinned, 3).verdict).toBe('not-ready');
    expect(verdictOf(runChecks(withoutKvm(), { accel: 'tcg' }), 3, true).verdict).toBe('degraded');
  });

  it('says KVM goes unused when the accelerator is pinned to tcg', () => {
    const checks = runChecks(facts(), { accel: 'tcg' });
    expect(checks.find((c) => c.id === 'kvm-kind')).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining('unused: the accelerator is set to tcg'),
    });
  });

  it('resolves auto to KVM exactly where the report says KVM boots standard guests', () => {
    const machines: HostFacts[] = [
      facts(),
      withoutKvm(),
      facts({ kvm: { present: true, charDevice: true, open: 'EACCES' } }),
      facts({ kvm: { present: true, charDevice: false, open: undefined } }),
      facts({ cpu: { vendor: 'amd', flags: new Set() } }),
      facts({ modules: { ...facts().modules, kvm_pvm: 'loaded' } }),
    ];
    const seen = machines.map((f) => {
      const kind = runChecks(f).find((c) => c.id === 'kvm-kind')!;
      const accel = resolveAccel('auto', kvmBootsGuests(f));
      expect(kind.status === 'pass', kind.detail).toBe(accel === 'kvm');
      expect(kind.status, kind.detail).not.toBe('fail');
      return accel;
    });
    expect(seen).toEqual(['kvm', 'tcg', 'tcg', 'tcg', 'tcg', 'tcg']);
    expect(machines.map((f) => resolveAccel('kvm', kvmBootsGuests(f)))).toEqual(Array(6).fill('kvm'));
  });

  it('needs one VMM but not both', () => {
    const noCh = facts({ tools: { ...facts().tools, 'cloud-hypervisor': { found: false } } });
    expect([statusOf(noCh, 'cloud-hypervisor'), statusOf(noCh, 'qemu')]).toEqual(['warn', 'pass']);
    const neither = facts({ tools: { ...noCh.tools, qemu: { found: false } } });
    expect([statusOf(neither, 'cloud-hypervisor'), statusOf(neither, 'qemu')]).toEqual(['fail', 'fail']);
  });

  it('without KVM, needs no Cloud Hypervisor (it cannot run) and needs QEMU even beside one', () => {
    const noKvm = { kvm: { present: false as const, open: undefined } };
    const noCh = facts({ ...noKvm, tools: { ...facts().tools, 'cloud-hypervisor': { found: false } } });
    expect(runChecks(noCh).find((c) => c.id === 'cloud-hypervisor')).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining('Not needed here'),
    });
    const chOnly = facts({ ...noKvm, tools: { ...facts().tools, qemu: { found: false } } });
    expect([statusOf(chOnly, 'cloud-hypervisor'), statusOf(chOnly, 'qemu')]).toEqual(['pass', 'fail']);
    expect(runChecks(chOnly).find((c) => c.id === 'qemu')?.remedy?.summary).toContain('only VMM');
    expect(runChecks(chOnly).find((c) => c.id === 'cloud-hypervisor')?.detail).toContain('unused here');
  });

  it('accepts iptables when nft is missing', () => {
    const f = facts({
      tools: {
        ...facts().tools,
        nft: { found: false },
        iptables: { found: true, path: '/usr/sbin/iptables', version: '1.8.9' },
      },
    });
    expect(statusOf(f, 'firewall-tool')).toBe('pass');
  });

  it('reports EACCES on /dev/kvm with the group fix', () => {
    const eacces = facts({ kvm: { present: true, charDevice: true, open: 'EACCES' } });
    const check = runChecks(eacces).find((c) => c.id === 'kvm-access');
    expect(check).toMatchObject({ status: 'warn', remedy: { command: 'sudo usermod -aG kvm "$USER"' } });
    expect(runChecks(eacces, { accel: 'kvm' }).find((c) => c.id === 'kvm-access')?.status).toBe('fail');
  });

  it('fails /dev/net/tun that the VMM user cannot open, with the mode udev gives it as the remedy', () => {
    const tun = (mode: number) =>
      runChecks(facts({ tun: { present: true, charDevice: true, mode } })).find((c) => c.id === 'tun-device');
    expect(tun(0o600)).toMatchObject({ status: 'fail', detail: expect.stringContaining('0600') });
    expect(tun(0o600)?.remedy?.command).toBe('sudo chmod 0666 /dev/net/tun');
    expect(tun(0o666)?.status).toBe('pass');
  });

  it('derives the verdict from the worst check', () => {
    const healthy = runChecks(facts());
    expect(verdictOf(healthy, 10)).toEqual({ verdict: 'ready', reason: 'Ready: room for 10 environments' });
    const noVhost = { vhostNet: { present: false, charDevice: false } };
    const degraded = runChecks(facts(noVhost));
    expect(verdictOf(degraded, 3).verdict).toBe('degraded');
    expect(verdictOf(degraded, 3).reason).toContain('/dev/vhost-net');
    // Forwarding off is not a problem: hearthd turns it on itself while guests run.
    expect(verdictOf(runChecks(facts({ ipForward: false })), 3).verdict).toBe('ready');
    const broken = runChecks(facts({ arch: 'aarch64', ...noVhost }));
    expect(verdictOf(broken, 3)).toMatchObject({
      verdict: 'not-ready',
      reason: expect.stringContaining('1 problem to fix first: x86_64 processor'),
    });
  });

  it("warns about a dropping forward chain with the remedy in that firewall's terms, and passes unmeasured", () => {
    const network = (forwardDrops: HostFacts['network']['forwardDrops']) =>
      facts({ network: { ...facts().network, forwardDrops } });
    const ufw = { family: 'ip', table: 'filter', chain: 'FORWARD', by: 'policy' as const, docker: false, ufw: true };
    const result = runChecks(network([ufw])).find((c) => c.id === 'host-firewall')!;
    expect(result).toMatchObject({ status: 'warn', remedy: { command: 'sudo ufw route allow in on hearth0' } });
    expect(result.detail).toContain('ip filter FORWARD (policy drop)');
    expect(statusOf(network(undefined), 'host-firewall')).toBe('pass');
  });

  it("fails a subnet that overlaps a route, naming it, and ignores the bridge's own", () => {
    const routes = (list: HostFacts['network']['routes']) => facts({ network: { ...facts().network, routes: list } });
    const clash = runChecks(routes([{ dst: '10.0.0.0/8', dev: 'wg0' }])).find((c) => c.id === 'network-subnet')!;
    expect(clash).toMatchObject({ status: 'fail', detail: '10.131.0.0/24 overlaps the route 10.0.0.0/8 dev wg0' });
    expect(statusOf(routes([{ dst: '10.131.0.0/24', dev: 'hearth0' }]), 'network-subnet')).toBe('pass');
    expect(statusOf(routes(undefined), 'network-subnet')).toBe('pass');
  });
});

describe('distro detection', () => {
  it('parses quoted os-release values', () => {
    expect(
      parseOsRelease('ID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\n# comment\nPRETTY_NAME=\'Tumbleweed\'\n'),
    ).toEqual({
      ID: 'opensuse-tumbleweed',
      ID_LIKE: 'opensuse suse',
      PRETTY_NAME: 'Tumbleweed',
    });
  });

  it.each([
    ['ubuntu', [], 'apt'],
    ['linuxmint', ['ubuntu', 'debian'], 'apt'],
    ['fedora', [], 'dnf'],
    ['rocky', ['rhel', 'centos', 'fedora'], 'dnf'],
    ['endeavouros', ['arch'], 'pacman'],
    ['opensuse-tumbleweed', ['opensuse', 'suse'], 'zypper'],
    ['nixos', [], 'unknown'],
  ])('maps %s to %s', (id, like, manager) => {
    expect(packageManagerFor(id, like)).toBe(manager);
  });
});
