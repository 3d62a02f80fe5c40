import { parseByteSize, parseInteger, parseOptions, parseToggle } from './option-parser.js';
import type { VmConfig } from './vmm.js';

/**
 * A VM configured on the command line (`--kernel`/`--firmware` plus VM options), turned into the
 * same VmConfig JSON that vm.create takes, as CH's VmConfig::parse does. Only the options a
 * development-VM driver plausibly uses are translated; the rest are refused by name, so a test
 * never silently runs with an option the double ignored.
 */

export class CliConfigError extends Error {}

const SUPPORTED = [
  'kernel',
  'firmware',
  'cmdline',
  'initramfs',
  'cpus',
  'memory',
  'serial',
  'console',
  'disk',
  'net',
  'rng',
];

export function vmConfigFromCli(values: Map<string, string[]>): VmConfig {
  for (const name of values.keys()) {
    const vmOption = !['api-socket', 'event-monitor', 'no-shutdown', 'log-file', 'seccomp', 'restore'].includes(name);
    if (vmOption && !SUPPORTED.includes(name)) {
      throw new CliConfigError(
        `--${name} on the command line is not implemented by the contract double; use vm.create`,
      );
    }
  }
  const one = (name: string) => values.get(name)?.[0];
  const config: VmConfig = {
    payload: strip({
      kernel: one('kernel'),
      firmware: one('firmware'),
      cmdline: one('cmdline'),
      initramfs: one('initramfs'),
    }),
  };
  const cpus = one('cpus');
  if (cpus !== undefined) {
    const o = parseOptions(cpus, ['boot', 'max', 'kvm_hyperv', 'max_phys_bits', 'nested']);
    const boot = parseInteger(o.get('boot') ?? '1', 'boot');
    config.cpus = strip({
      boot_vcpus: boot,
      max_vcpus: parseInteger(o.get('max') ?? String(boot), 'max'),
      kvm_hyperv: opt(o.get('kvm_hyperv'), (v) => parseToggle(v, 'kvm_hyperv')),
      max_phys_bits: opt(o.get('max_phys_bits'), (v) => parseInteger(v, 'max_phys_bits')),
      nested: opt(o.get('nested'), (v) => parseToggle(v, 'nested')),
    });
  }
  const memory = one('memory');
  if (memory !== undefined) {
    const toggles = ['mergeable', 'shared', 'hugepages', 'prefault', 'thp'];
    const o = parseOptions(memory, ['size', ...toggles]);
    config.memory = strip({
      size: parseByteSize(o.get('size') ?? '512M', 'size'),
      ...Object.fromEntries(toggles.map((t) => [t, opt(o.get(t), (v) => parseToggle(v, t))])),
    });
  }
  const serial = one('serial');
  if (serial !== undefined) config.serial = consoleConfig(serial);
  const consoleValue = one('console');
  if (consoleValue !== undefined) config.console = consoleConfig(consoleValue);
  const disks = values.get('disk');
  if (disks !== undefined) config.disks = disks.map(diskConfig);
  const nets = values.get('net');
  if (nets !== undefined) config.net = nets.map(netConfig);
  const rng = one('rng');
  if (rng !== undefined) config.rng = { src: parseOptions(rng, ['src']).get('src') ?? '/dev/urandom' };
  return config;
}

/** `off|null|pty|tty|file=<p>|socket=<p>` as CH's ConsoleConfig::parse reads it. */
function consoleConfig(value: string): Record<string, unknown> {
  const modes: Record<string, string> = { off: 'Off', null: 'Null', pty: 'Pty', tty: 'Tty' };
  const [first, ...rest] = value.split(',');
  const mode = modes[first ?? ''];
  if (mode !== undefined) return strip({ mode, ...(rest.length > 0 ? iommu(rest.join(',')) : {}) });
  const o = parseOptions(value, ['file', 'socket', 'iommu']);
  const file = o.get('file');
  const socket = o.get('socket');
  if (file !== undefined) return strip({ mode: 'File', file, ...iommu(o) });
  if (socket !== undefined) return strip({ mode: 'Socket', socket, ...iommu(o) });
  throw new CliConfigError(`invalid console/serial value: ${value}`);
}

function iommu(options: string | Map<string, string>): Record<string, boolean | undefined> {
  const o = typeof options === 'string' ? parseOptions(options, ['iommu']) : options;
  return { iommu: opt(o.get('iommu'), (v) => parseToggle(v, 'iommu')) };
}

function diskConfig(value: string): Record<string, unknown> {
  const toggles = ['readonly', 'direct', 'iommu', 'vhost_user', 'backing_files', 'sparse'];
  const o = parseOptions(value, [
    'path',
    'id',
    'serial',
    'num_queues',
    'queue_size',
    'image_type',
    'socket',
    ...toggles,
  ]);
  const imageTypes: Record<string, string> = { raw: 'Raw', qcow2: 'Qcow2', vhdx: 'Vhdx', vhd: 'FixedVhd' };
  const imageType = o.get('image_type');
  if (imageType !== undefined && imageTypes[imageType] === undefined) {
    throw new CliConfigError(`invalid image_type: ${imageType}`);
  }
  return strip({
    path: o.get('path'),
    id: o.get('id'),
    serial: o.get('serial'),
    vhost_socket: o.get('socket'),
    num_queues: opt(o.get('num_queues'), (v) => parseInteger(v, 'num_queues')),
    queue_size: opt(o.get('queue_size'), (v) => parseInteger(v, 'queue_size')),
    image_type: imageType === undefined ? undefined : imageTypes[imageType],
    ...Object.fromEntries(toggles.map((t) => [t, opt(o.get(t), (v) => parseToggle(v, t))])),
  });
}

function netConfig(value: string): Record<string, unknown> {
  const o = parseOptions(value, ['tap', 'ip', 'mask', 'mac', 'host_mac', 'mtu', 'id', 'num_queues', 'queue_size']);
  return strip({
    tap: o.get('tap'),
    ip: o.get('ip'),
    mask: o.get('mask'),
    mac: o.get('mac'),
    host_mac: o.get('host_mac'),
    id: o.get('id'),
    mtu: opt(o.get('mtu'), (v) => parseInteger(v, 'mtu')),
    num_queues: opt(o.get('num_queues'), (v) => parseInteger(v, 'num_queues')),
    queue_size: opt(o.get('queue_size'), (v) => parseInteger(v, 'queue_size')),
  });
}

function opt<T>(value: string | undefined, convert: (v: string) => T): T | undefined {
  return value === undefined ? undefined : convert(value);
}

/** Drops undefined members, as serde omits absent options. */
function strip<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
