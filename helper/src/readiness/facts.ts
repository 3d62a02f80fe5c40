import { arch as processArch, release } from 'node:os';
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Distro } from '#protocol';
import { detectDistro } from './distro.js';
import { findExecutable, readVersion } from '../system/executables.js';
import { isMissing, type HostRoot } from '../system/host-root.js';
import { readForwardDrops, type ForwardDrop } from '../network/host-firewall.js';
import { DEFAULT_BRIDGE } from '../network/names.js';
import { readRoutes, type Route } from '../network/routes.js';
import { NetworkTools } from '../network/tools.js';
import { FIRMWARE_PATHS } from '../vmm/firmware.js';
import { readInstalledRelease } from '../vmm/install/installed-release.js';

/** Everything the readiness checks judge, measured once. Pure data: checks.ts does the judging. */
export interface HostFacts {
  arch: string;
  kernel: string;
  distro: Distro;
  cpu: { vendor: 'intel' | 'amd' | 'other'; flags: ReadonlySet<string> } | undefined;
  /** `open`: 'ok', or the errno code opening it read-write failed with. */
  kvm: DeviceFact & { open: string | undefined };
  modules: Record<KernelModule, ModuleState>;
  ipForward: boolean | undefined;
  memory: { totalBytes: number; availableBytes: number } | undefined;
  disk: { path: string; freeBytes: number; totalBytes: number } | undefined;
  tools: Record<ToolName, ToolFact>;
  cloudHypervisorFirmware: string | undefined;
  tun: DeviceFact;
  vhostNet: DeviceFact;
  network: NetworkFacts;
}

/** What the guests' network meets on this host; undefined where it could not be read. */
export interface NetworkFacts {
  bridge: string;
  /** The configured networkSubnet. */
  subnet: string;
  /** Other tables' forward chains that drop; measured on the real root only (nft lists this machine). */
  forwardDrops: ForwardDrop[] | undefined;
  routes: Route[] | undefined;
}

/** `mode`: the permission bits, where they matter (a VMM user must be able to open /dev/net/tun). */
export type DeviceFact = { present: false } | { present: true; charDevice: boolean; mode?: number };

export type ToolFact =
  { found: true; path: string; version: string | undefined } | { found: false; untrusted?: string };

/** Modules the original runner required for environment networking. */
export const NETWORK_MODULES = ['tun', 'bridge', 'br_netfilter', 'nf_tables', 'nf_nat', 'nf_conntrack'] as const;

export const KERNEL_MODULES = ['kvm', 'kvm_intel', 'kvm_amd', 'kvm_pvm', ...NETWORK_MODULES, 'vhost_net'] as const;
export type KernelModule = (typeof KERNEL_MODULES)[number];

/** loaded: a live module; builtin: compiled into the kernel; available: can be loaded; absent: cannot. */
export type ModuleState = 'loaded' | 'builtin' | 'available' | 'absent' | 'unknown';

const KCONFIG: Record<KernelModule, string> = {
  kvm: 'CONFIG_KVM',
  kvm_intel: 'CONFIG_KVM_INTEL',
  kvm_amd: 'CONFIG_KVM_AMD',
  kvm_pvm: 'CONFIG_KVM_PVM',
  tun: 'CONFIG_TUN',
  bridge: 'CONFIG_BRIDGE',
  br_netfilter: 'CONFIG_BRIDGE_NETFILTER',
  nf_tables: 'CONFIG_NF_TABLES',
  nf_nat: 'CONFIG_NF_NAT',
  nf_conntrack: 'CONFIG_NF_CONNTRACK',
  vhost_net: 'CONFIG_VHOST_NET',
};

export const TOOL_BINARIES = {
  'cloud-hypervisor': 'cloud-hypervisor',
  qemu: 'qemu-system-x86_64',
  'qemu-img': 'qemu-img',
  nft: 'nft',
  iptables: 'iptables',
  ip: 'ip',
  dnsmasq: 'dnsmasq',
} as const;
export type ToolName = keyof typeof TOOL_BINARIES;

const VERSION_ARGS: Partial<Record<ToolName, string[]>> = { ip: ['-V'] };

export { FIRMWARE_PATHS };

const GiB = 1024 ** 3;

export async function gatherFacts(host: HostRoot, stateDir: string, subnet: string): Promise<HostFacts> {
  const [arch, kernel, distro, cpu, kvm, ipForward, memory, disk, tools, firmware, tun, vhostNet, network] =
    await Promise.all([
      readArch(host),
      readKernel(host),
      detectDistro(host),
      readCpu(host),
      readKvm(host),
      host.readText('/proc/sys/net/ipv4/ip_forward').then((v) => (v === undefined ? undefined : v.trim() === '1')),
      readMemory(host),
      readDisk(stateDir),
      readTools(host),
      firstExisting(host, FIRMWARE_PATHS),
      readDevice(host, '/dev/net/tun'),
      readDevice(host, '/dev/vhost-net'),
      readNetwork(host, subnet),
    ]);
  const modules = await readModules(host, kernel);
  // The release `hearthd install-cloud-hypervisor` put in the state directory is the one VMs use
  // (vmm/registry.ts), so it is the one judged; it brings its own firmware.
  const release = await readInstalledRelease(stateDir, undefined, { checkDigests: false }).catch(() => undefined);
  if (release) tools['cloud-hypervisor'] = { found: true, path: release.binary, version: release.manifest.version };
  return {
    arch,
    kernel,
    distro,
    cpu,
    kvm,
    modules,
    ipForward,
    memory,
    disk,
    tools,
    cloudHypervisorFirmware: release?.firmware ?? firmware,
    tun,
    vhostNet,
    network,
  };
}

async function readNetwork(host: HostRoot, subnet: string): Promise<NetworkFacts> {
  const facts: NetworkFacts = { bridge: DEFAULT_BRIDGE, subnet, forwardDrops: undefined, routes: undefined };
  // nft and ip describe the machine they run on, not a probe root.
  if (!host.isRealRoot) return facts;
  const tools = new NetworkTools(host);
  const [forwardDrops, routes] = await Promise.all([
    readForwardDrops(tools).catch(() => undefined),
    readRoutes(tools).catch(() => undefined),
  ]);
  return { ...facts, forwardDrops, routes };
}

async function readArch(host: HostRoot): Promise<string> {
  const fromProc = (await host.readText('/proc/sys/kernel/arch'))?.trim();
  if (fromProc) return fromProc;
  if (!host.isRealRoot) return 'unknown';
  return processArch() === 'x64' ? 'x86_64' : processArch();
}

async function readKernel(host: HostRoot): Promise<string> {
  return (await host.readText('/proc/sys/kernel/osrelease'))?.trim() ?? (host.isRealRoot ? release() : 'unknown');
}

async function readCpu(host: HostRoot): Promise<HostFacts['cpu']> {
  const text = await host.readText('/proc/cpuinfo');
  if (text === undefined) return undefined;
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  const vendorId = field('vendor_id');
  const vendor = vendorId === 'GenuineIntel' ? 'intel' : vendorId === 'AuthenticAMD' ? 'amd' : 'other';
  return { vendor, flags: new Set(field('flags').split(/\s+/).filter(Boolean)) };
}

async function readDevice(host: HostRoot, path: string): Promise<DeviceFact> {
  const stats = await host.stat(path);
  return stats === undefined
    ? { present: false }
    : { present: true, charDevice: stats.isCharacterDevice(), mode: stats.mode & 0o777 };
}

async function readKvm(host: HostRoot): Promise<HostFacts['kvm']> {
  const device = await readDevice(host, '/dev/kvm');
  const open = device.present && device.charDevice ? await host.tryOpenReadWrite('/dev/kvm') : undefined;
  return { ...device, open };
}

async function readMemory(host: HostRoot): Promise<HostFacts['memory']> {
  const text = await host.readText('/proc/meminfo');
  if (text === undefined) return undefined;
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const total = kib('MemTotal');
  const available = kib('MemAvailable');
  if (!Number.isFinite(total)) return undefined;
  return { totalBytes: total * 1024, availableBytes: (Number.isFinite(available) ? available : kib('MemFree')) * 1024 };
}

/** Free space where environments will live; the state dir may not exist before install. */
async function readDisk(stateDir: string): Promise<HostFacts['disk']> {
  for (let path = stateDir; ; path = dirname(path)) {
    try {
      const fs = await statfs(path);
      return { path: stateDir, freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
    } catch (error) {
      if (!isMissing(error) || path === dirname(path)) return undefined;
    }
  }
}

async function readTools(host: HostRoot): Promise<HostFacts['tools']> {
  const names = Object.keys(TOOL_BINARIES) as ToolName[];
  const facts = await Promise.all(
    names.map(async (name): Promise<ToolFact> => {
      const lookup = await findExecutable(host, TOOL_BINARIES[name]);
      if (!lookup.found)
        return lookup.untrusted === undefined ? { found: false } : { found: false, untrusted: lookup.untrusted };
      return {
        found: true,
        path: lookup.executable.path,
        version: await readVersion(lookup.executable, VERSION_ARGS[name]),
      };
    }),
  );
  return Object.fromEntries(names.map((name, i) => [name, facts[i]])) as HostFacts['tools'];
}

async function firstExisting(host: HostRoot, paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) if (await host.exists(path)) return path;
  return undefined;
}

/**
 * A module counts when it is loaded (/sys/module/<m>/initstate), built in (modules.builtin, or
 * /sys/module/<m> without initstate, or =y in the kernel config), or loadable (=m).
 */
async function readModules(host: HostRoot, kernel: string): Promise<HostFacts['modules']> {
  const builtinList = await host.readText(`/lib/modules/${kernel}/modules.builtin`);
  const kconfig = (await host.readText('/proc/config.gz')) ?? (await host.readText(`/boot/config-${kernel}`));
  const entries = await Promise.all(
    KERNEL_MODULES.map(async (name): Promise<[KernelModule, ModuleState]> => {
      if (await host.exists(`/sys/module/${name}/initstate`)) return [name, 'loaded'];
      if (await host.exists(`/sys/module/${name}`)) return [name, 'builtin'];
      if (builtinList && new RegExp(`/${name.replace(/_/g, '[-_]')}\\.ko(\\.[gx]z|\\.zst)?$`, 'm').test(builtinList))
        return [name, 'builtin'];
      if (kconfig !== undefined) {
        const value = new RegExp(`^${KCONFIG[name]}=(y|m)$`, 'm').exec(kconfig)?.[1];
        return [name, value === 'y' ? 'builtin' : value === 'm' ? 'available' : 'absent'];
      }
      return [name, 'unknown'];
    }),
  );
  return Object.fromEntries(entries) as HostFacts['modules'];
}

export const MIN_ENVIRONMENT_BYTES = 2 * GiB;
export const RUNNER_RESERVE_BYTES = 100 * 1024 ** 2;
export const MAX_ENVIRONMENTS = 10;
