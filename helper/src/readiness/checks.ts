import type { Capacity, ReadinessCheck, Remedy } from '#protocol';
import {
  FIRMWARE_PATHS,
  MAX_ENVIRONMENTS,
  MIN_ENVIRONMENT_BYTES,
  NETWORK_MODULES,
  RUNNER_RESERVE_BYTES,
  type HostFacts,
  type KernelModule,
  type ModuleState,
} from './facts.js';
import { fail, pass, warn, type Check, type JudgedSettings } from './check-kit.js';
import { KVM_CHECKS, kvmBootsGuests, kvmModules, kvmSeverity } from './kvm.js';
import { autoTakesCloudHypervisor } from '../vmm/accelerator.js';
import { installRemedy, modprobeRemedy } from './remedies.js';
import { remedyCommand } from '../network/host-firewall.js';
import { describeRoute, overlappingRoute } from '../network/routes.js';
import { parseSubnet } from '../network/subnet.js';

/** What the Cloud Hypervisor setup step runs (hearthd install-cloud-hypervisor, vmm/install). */
const INSTALL_CH_COMMAND = 'sudo /usr/lib/hearth/node /usr/lib/hearth/hearthd.mjs install-cloud-hypervisor';

/**
 * Judges measured facts, against what hearthd will do with them (the settings). Every non-pass
 * result says what was measured and, where the user can act, the exact command for their
 * distro. Pure: no I/O, so each branch is unit-testable.
 */

const GiB = 1024 ** 3;
const gib = (bytes: number) => `${Number((bytes / GiB).toFixed(1))} GiB`;

const usable = (state: ModuleState) => state === 'loaded' || state === 'builtin';

export function capacityOf(f: HostFacts): Capacity {
  const total = f.memory?.totalBytes ?? 0;
  const available = f.memory?.availableBytes ?? 0;
  const fits = Math.floor(Math.max(0, available - RUNNER_RESERVE_BYTES) / MIN_ENVIRONMENT_BYTES);
  return {
    memoryTotalBytes: total,
    memoryAvailableBytes: available,
    runnerReserveBytes: RUNNER_RESERVE_BYTES,
    perEnvironmentBytes: MIN_ENVIRONMENT_BYTES,
    environments: Math.min(MAX_ENVIRONMENTS, fits),
  };
}

const toolFound = (f: HostFacts, tool: keyof HostFacts['tools']) => f.tools[tool].found;
const toolDetail = (f: HostFacts, tool: keyof HostFacts['tools']) => {
  const fact = f.tools[tool];
  if (fact.found) return `${fact.path}${fact.version ? ` (version ${fact.version})` : ''}`;
  return fact.untrusted
    ? `Only ${fact.untrusted} was found, and hearthd will not run it: it is writable by users other than root`
    : 'Not found in system directories';
};

export const CHECKS: readonly Check[] = [
  {
    id: 'arch',
    title: 'x86_64 processor',
    category: 'platform',
    judge: (f) =>
      f.arch === 'x86_64'
        ? pass('x86_64')
        : fail(`This machine is ${f.arch}`, { summary: 'Hearth runs on x86_64 machines only.' }),
  },
  ...KVM_CHECKS,
  {
    id: 'kernel-modules',
    title: 'Kernel modules',
    category: 'kernel',
    judge: (f, s) => {
      const kvm = kvmModules(f);
      const needed: KernelModule[] = [...kvm, ...NETWORK_MODULES];
      const byState = (state: ModuleState) => needed.filter((m) => f.modules[m] === state);
      // Without a KVM that boots guests, loaded KVM modules are not "ready": they are said apart.
      const idle = kvmBootsGuests(f) ? [] : kvm.filter((m) => usable(f.modules[m]));
      const ok = needed.filter((m) => usable(f.modules[m]) && !idle.includes(m));
      const absent = byState('absent');
      const loadable = byState('available');
      const unknown = byState('unknown');
      const detail = [
        ok.length && `ready: ${ok.join(', ')}`,
        idle.length && `loaded, but there is no KVM that boots standard guests: ${idle.join(', ')}`,
        loadable.length && `not loaded: ${loadable.join(', ')}`,
        absent.length && `missing from this kernel: ${absent.join(', ')}`,
        unknown.length && `could not be determined: ${unknown.join(', ')}`,
      ]
        .filter(Boolean)
        .join('; ');
      if (absent.length) {
        const remedy = {
          summary: `This kernel was built without ${absent.join(', ')}; use your distribution's standard kernel.`,
        };
        // A kernel without KVM still runs environments emulated; one without networking does not.
        return absent.every((m) => kvm.includes(m)) ? kvmSeverity(s)(detail, remedy) : fail(detail, remedy);
      }
      if (loadable.length) return warn(detail, modprobeRemedy(loadable, 'Some modules Hearth needs are not loaded.'));
      if (unknown.length)
        return warn(detail, {
          summary:
            'Neither /proc/modules, modules.builtin nor the kernel config could be read; make sure these modules are available.',
        });
      return pass(detail);
    },
  },
  {
    id: 'ip-forwarding',
    title: 'IPv4 forwarding',
    category: 'network',
    judge: (f) => {
      // hearthd turns forwarding on itself while networked environments run (and then forwards
      // only hearth0's traffic), so 0 is no problem to fix: enabling it by hand would forward
      // between the host's other interfaces too.
      if (f.ipForward === true) return pass('net.ipv4.ip_forward = 1');
      if (f.ipForward === undefined) return warn('net.ipv4.ip_forward could not be read');
      return pass('net.ipv4.ip_forward = 0: hearthd turns it on while environments run, for hearth0 only');
    },
  },
  {
    id: 'memory',
    title: 'Memory',
    category: 'resources',
    judge: (f) => {
      if (f.memory === undefined) return fail('/proc/meminfo could not be read');
      const { environments } = capacityOf(f);
      const detail = `${gib(f.memory.availableBytes)} available of ${gib(f.memory.totalBytes)}: room for ${environments} environment${environments === 1 ? '' : 's'} of ${gib(MIN_ENVIRONMENT_BYTES)}`;
      const need = gib(MIN_ENVIRONMENT_BYTES + RUNNER_RESERVE_BYTES);
      if (environments === 0)
        return fail(detail, {
          summary: `Each environment needs at least ${gib(MIN_ENVIRONMENT_BYTES)} plus ~100 MiB for Hearth; free at least ${need} by closing applications, or add memory.`,
        });
      if (environments === 1)
        return warn(detail, { summary: 'Only one environment fits; close applications or add memory to run more.' });
      return pass(detail);
    },
  },
  {
    id: 'disk',
    title: 'Free disk space',
    category: 'resources',
    judge: (f) => {
      if (f.disk === undefined) return fail('Free space could not be measured');
      const detail = `${gib(f.disk.freeBytes)} free of ${gib(f.disk.totalBytes)} at ${f.disk.path}`;
      const remedy = {
        summary: `Free space on the filesystem that holds ${f.disk.path}: Hearth needs at least 10 GiB and recommends 50 GiB.`,
      };
      if (f.disk.freeBytes < 10 * GiB) return fail(detail, remedy);
      if (f.disk.freeBytes < 50 * GiB) return warn(detail, remedy);
      return pass(detail);
    },
  },
  {
    id: 'cloud-hypervisor',
    title: 'Cloud Hypervisor (preferred VMM)',
    category: 'hypervisor',
    judge: (f) => {
      // hypervisor auto takes Cloud Hypervisor only with KVM (vmm/accelerator.ts): without, QEMU runs.
      if (!autoTakesCloudHypervisor(kvmBootsGuests(f)))
        return pass(
          `${toolFound(f, 'cloud-hypervisor') ? `${toolDetail(f, 'cloud-hypervisor')}, unused here` : 'Not needed here'}: it runs only with a KVM that boots guests, so QEMU runs environments`,
        );
      if (toolFound(f, 'cloud-hypervisor')) return pass(toolDetail(f, 'cloud-hypervisor'));
      const remedy: Remedy = {
        summary:
          "Optional but faster and lighter than QEMU: install it with Hearth's setup (the Cloud Hypervisor step), which downloads the pinned release and its firmware and checks both against the digests built into Hearth.",
        command: INSTALL_CH_COMMAND,
      };
      const fallback = toolFound(f, 'qemu')
        ? '; QEMU will run environments instead'
        : ' and neither is QEMU: no VMM can run environments';
      return (toolFound(f, 'qemu') ? warn : fail)(`${toolDetail(f, 'cloud-hypervisor')}${fallback}`, remedy);
    },
  },
  {
    id: 'cloud-hypervisor-firmware',
    title: 'Cloud Hypervisor firmware',
    category: 'hypervisor',
    judge: (f) => {
      if (f.cloudHypervisorFirmware) return pass(f.cloudHypervisorFirmware);
      if (!toolFound(f, 'cloud-hypervisor')) return pass('Not needed while Cloud Hypervisor is not installed');
      if (!autoTakesCloudHypervisor(kvmBootsGuests(f)))
        return pass('Not needed here: Cloud Hypervisor runs only with a KVM that boots guests');
      return warn(
        `No hypervisor-fw or CLOUDHV.fd in ${FIRMWARE_PATHS.map((p) => p.replace(/\/[^/]+$/, ''))
          .filter((d, i, a) => a.indexOf(d) === i)
          .join(' or ')}; Cloud Hypervisor cannot boot cloud images`,
        {
          summary:
            "Install Cloud Hypervisor with Hearth's setup (the Cloud Hypervisor step): it installs CLOUDHV.fd with it.",
          command: INSTALL_CH_COMMAND,
        },
      );
    },
  },
  {
    id: 'qemu',
    title: 'QEMU (fallback VMM)',
    category: 'hypervisor',
    judge: (f) => {
      if (toolFound(f, 'qemu')) return pass(toolDetail(f, 'qemu'));
      const hasCh = toolFound(f, 'cloud-hypervisor');
      const chRuns = hasCh && autoTakesCloudHypervisor(kvmBootsGuests(f));
      const remedy = installRemedy(
        f.distro.packageManager,
        'qemu',
        chRuns
          ? 'QEMU is the fallback when Cloud Hypervisor cannot run a VM.'
          : hasCh
            ? 'Without KVM, QEMU is the only VMM that runs environments (emulated).'
            : 'A VMM is required.',
      );
      return (chRuns ? warn : fail)(toolDetail(f, 'qemu'), remedy);
    },
  },
  {
    id: 'qemu-img',
    title: 'qemu-img (disk images)',
    category: 'hypervisor',
    judge: (f) =>
      toolFound(f, 'qemu-img')
        ? pass(toolDetail(f, 'qemu-img'))
        : fail(
            toolDetail(f, 'qemu-img'),
            installRemedy(
              f.distro.packageManager,
              'qemu-img',
              'Environment disks are qcow2 overlays made with qemu-img.',
            ),
          ),
  },
  {
    id: 'firewall-tool',
    title: 'nftables or iptables',
    category: 'network',
    judge: (f) => {
      if (toolFound(f, 'nft')) return pass(toolDetail(f, 'nft'));
      if (toolFound(f, 'iptables')) return pass(toolDetail(f, 'iptables'));
      return fail(
        'Neither nft nor iptables found',
        installRemedy(f.distro.packageManager, 'nftables', 'Environments reach the network through NAT rules.'),
      );
    },
  },
  {
    id: 'ip-tool',
    title: 'ip (iproute2)',
    category: 'network',
    judge: (f) =>
      toolFound(f, 'ip')
        ? pass(toolDetail(f, 'ip'))
        : fail(
            toolDetail(f, 'ip'),
            installRemedy(f.distro.packageManager, 'iproute', 'hearthd creates the bridge and TAP devices with ip.'),
          ),
  },
  {
    id: 'dnsmasq',
    title: 'dnsmasq (DHCP and DNS for environments)',
    category: 'network',
    judge: (f) =>
      toolFound(f, 'dnsmasq')
        ? pass(toolDetail(f, 'dnsmasq'))
        : fail(
            toolDetail(f, 'dnsmasq'),
            installRemedy(
              f.distro.packageManager,
              'dnsmasq',
              'Environments get their addresses and names from dnsmasq.',
            ),
          ),
  },
  {
    id: 'tun-device',
    title: '/dev/net/tun',
    category: 'network',
    judge: (f) => {
      // QEMU runs as the VMM user and opens its TAP through /dev/net/tun itself: udev makes the
      // device 0666 on every major distribution, and the TAP's owner check is what guards it.
      if (f.tun.present && f.tun.charDevice && f.tun.mode !== undefined && (f.tun.mode & 0o006) !== 0o006)
        return fail(
          `/dev/net/tun is mode ${f.tun.mode.toString(8).padStart(4, '0')}: the VMM user cannot open its TAP`,
          {
            summary: 'Let every user open /dev/net/tun, as udev does by default (each TAP is still its owner’s alone).',
            command: 'sudo chmod 0666 /dev/net/tun',
          },
        );
      if (f.tun.present && f.tun.charDevice) return pass('Character device present');
      return fail(
        f.tun.present ? '/dev/net/tun is not a character device' : '/dev/net/tun does not exist',
        modprobeRemedy(['tun'], 'VM network devices are TAP devices.'),
      );
    },
  },
  {
    id: 'vhost-net-device',
    title: '/dev/vhost-net',
    category: 'network',
    judge: (f) => {
      if (f.vhostNet.present && f.vhostNet.charDevice) return pass('Character device present');
      return warn(
        '/dev/vhost-net does not exist: VM networking works but uses more CPU',
        modprobeRemedy(['vhost_net'], 'vhost-net moves VM network traffic into the kernel.'),
      );
    },
  },
  {
    id: 'host-firewall',
    title: 'Host firewall lets guests through',
    category: 'network',
    judge: ({ network }) => {
      const drops = network.forwardDrops;
      if (drops === undefined) return pass('Not measured (nft could not list the ruleset here)');
      if (drops.length === 0) return pass('No other table drops forwarded traffic');
      const named = drops.map(
        (d) => `${d.family} ${d.table} ${d.chain} (${d.by === 'policy' ? 'policy drop' : 'ends in drop'})`,
      );
      return warn(
        `Forward ${drops.length === 1 ? 'chain' : 'chains'} ${named.join(', ')} would drop the guests' traffic that Hearth's own table accepts`,
        {
          summary: `Let ${network.bridge}'s traffic through ${drops.length === 1 ? 'that firewall' : 'those firewalls'}; Hearth does not change another firewall's rules itself.`,
          command: [...new Set(drops.map((d) => remedyCommand(d, network.bridge)))].join(' && '),
        },
      );
    },
  },
  {
    id: 'network-subnet',
    title: 'Environment subnet is free',
    category: 'network',
    judge: ({ network }) => {
      if (network.routes === undefined) return pass(`${network.subnet} (routes not measured here)`);
      const clash = overlappingRoute(parseSubnet(network.subnet), network.routes, network.bridge);
      if (!clash) return pass(`${network.subnet} overlaps no route of this machine`);
      return fail(`${network.subnet} overlaps the route ${describeRoute(clash)}`, {
        summary: 'An administrator chooses another networkSubnet in Settings (one no route of this machine covers).',
      });
    },
  },
];

/** `settings.accel` decides whether a missing KVM fails (pinned to kvm) or only slows (auto, tcg). */
export function runChecks(facts: HostFacts, settings: JudgedSettings = { accel: 'auto' }): ReadinessCheck[] {
  return CHECKS.map(({ id, title, category, judge }) => ({ id, title, category, ...judge(facts, settings) }));
}
