import { closeSync, openSync, writeSync } from 'node:fs';
import { BootCheckFailure, checkBootable } from './devices.js';
import type { EventMonitor } from './event-monitor.js';
import { Guest, type GuestBehaviour } from './guest.js';
import type { Logger } from './log.js';
import { CH_VERSION, DOUBLE_BUILD_VERSION, DOUBLE_FEATURES } from './version.js';
import { HybridVsock } from './vsock.js';

/**
 * The VMM's state machine, modelled on CH v53's `Vmm` (vmm/src/lib.rs) rather than on the spec's
 * prose, because the two disagree and a driver meets the code:
 *
 * - CH keeps the VM *config* (set by vm.create) apart from the VM *instance* (made by vm.boot).
 *   vm.shutdown drops the instance and keeps the config, so vm.info then reports `Created`, not
 *   `Shutdown`, and vm.boot may be called again. `Shutdown` is never observable through vm.info.
 * - Errors answer with a JSON array of messages (outermost first). Since v53 (PR #8320) an error
 *   whose root cause is "VM is not created" / "VM config is missing" answers 404; every other
 *   failed action, including wrong-state ones, answers 500. The 405s the spec lists are never sent
 *   (issue #8680), and vm.shutdown/power-button without a VM answer 500 (issue #8678).
 * - A guest that powers off (e.g. after vm.power-button) ends the whole VMM process unless CH was
 *   started with --no-shutdown (PR #8025); with it, only the VM shuts down.
 */

export type VmConfig = Record<string, unknown>;
/** Hearth never pauses a VM (vm.pause is not in the description), so an instance only runs. */
type RunState = 'Running';

/** A failed API action: CH's status and its error chain, outermost first. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly chain: string[],
  ) {
    super(chain.join(': '));
  }
}

const API = 'Error from API';
const notCreated = (what: string) => new ApiFailure(404, [API, what, 'VM is not created']);
const notRunning = (what: string) => new ApiFailure(500, [API, what, 'VM is not running']);

export interface VmmOptions {
  events: EventMonitor;
  log: Logger;
  guest: GuestBehaviour;
  /** CH's --no-shutdown: a guest power-off shuts the VM down but keeps the VMM alive. */
  noShutdown: boolean;
  /** Ends the process; the VMM calls it when a guest power-off ends the VMM. */
  exit: (code: number) => void;
}

interface Instance {
  state: RunState;
  guest: Guest;
  vsock: HybridVsock | undefined;
}

/** Where the guest's serial port goes, opened when CH opens its console devices. */
interface SerialSink {
  write(line: string): void;
  close(): void;
}

export class Vmm {
  private config: VmConfig | undefined;
  private vm: Instance | undefined;
  private serial: SerialSink | undefined;

  constructor(private readonly options: VmmOptions) {}

  ping(): Record<string, unknown> {
    return { build_version: DOUBLE_BUILD_VERSION, version: CH_VERSION, pid: process.pid, features: DOUBLE_FEATURES };
  }

  create(config: VmConfig): void {
    if (this.config !== undefined)
      throw new ApiFailure(500, [API, 'The VM could not be created', 'VM is already created']);
    // CH stores the config before it opens the console devices, so a failure here still leaves a
    // created VM behind (a vm.delete is needed before retrying).
    this.config = withChDefaults(config);
    this.serial = this.openConsoles('The VM could not be created');
  }

  boot(): void {
    const what = 'The VM could not boot';
    if (this.vm !== undefined) throw new ApiFailure(500, [API, what, 'VM is already created']);
    // CH emits `booting` before it checks for a config: a boot without a VM still logs it.
    this.options.events.emit('vm', 'booting');
    if (this.config === undefined) throw new ApiFailure(404, [API, what, 'VM config is missing']);
    try {
      checkBootable(this.config, this.options.log);
    } catch (error) {
      if (error instanceof BootCheckFailure) throw new ApiFailure(500, [API, what, ...error.chain]);
      throw error;
    }
    this.serial ??= this.openConsoles(what);
    this.vm = this.startInstance(this.config);
    this.options.events.emit('vm', 'booted');
    this.activateDevices(this.config);
  }

  shutdown(): void {
    if (this.vm === undefined) throw notRunning('The VM could not shutdown');
    this.dropInstance();
    this.options.events.emit('vm', 'shutdown');
  }

  /** Delivers the ACPI power button; the guest decides what to do (see guest.ts). */
  powerButton(): void {
    if (this.vm === undefined) throw notRunning('Error triggering power button');
    this.vm.guest.powerButton();
  }

  info(): Record<string, unknown> {
    if (this.config === undefined) throw notCreated('The VM info is not available');
    const memory = this.config.memory as { size: number };
    const info: Record<string, unknown> = {
      config: this.config,
      state: this.vm?.state ?? 'Created',
      memory_actual_size: memory.size,
    };
    // CH serialises device_tree only while a VM instance exists (skip_serializing_none).
    if (this.vm !== undefined) info.device_tree = deviceTree(this.config);
    return info;
  }

  /** Forgets the config (shutting a running VM down first), as CH's vm.delete does. */
  private delete(): void {
    if (this.config === undefined) return;
    if (this.vm !== undefined) this.shutdown();
    this.closeConsoles();
    this.config = undefined;
    this.options.events.emit('vm', 'deleted');
  }

  /** vmm.shutdown, SIGTERM/SIGINT and a guest power-off without --no-shutdown all end here. */
  vmmShutdown(): void {
    this.delete();
    this.options.events.emit('vmm', 'shutdown');
  }

  /** The guest powered off (ACPI S5 / reset to off): CH's GuestExit path. */
  private guestExit(): void {
    this.options.log.info('guest powered off');
    if (this.options.noShutdown) {
      this.shutdown();
      return;
    }
    this.vmmShutdown();
    this.options.exit(0);
  }

  /** The devices come up with the instance (CH's DeviceManager is made at boot), then the guest runs. */
  private startInstance(config: VmConfig): Instance {
    const vsockConfig = config.vsock as { cid: number; socket: string } | undefined | null;
    const vsock = vsockConfig ? HybridVsock.open(vsockConfig.cid, vsockConfig.socket, this.options.log) : undefined;
    const guest = this.startGuest(config, () => vsock?.guestConnect(this.options.guest.vsock));
    return { state: 'Running', guest, vsock };
  }

  private startGuest(config: VmConfig, onReady: () => void): Guest {
    const payload = config.payload as Record<string, string | undefined>;
    const boot = payload.kernel ?? payload.firmware ?? payload.igvm ?? '?';
    const guest = new Guest(
      this.options.guest,
      (line) => this.serial?.write(line),
      () => this.guestExit(),
      `booting ${boot}${payload.cmdline === undefined ? '' : ` with cmdline "${payload.cmdline}"`}`,
      onReady,
    );
    guest.start();
    return guest;
  }

  /** Virtio devices activate as the guest's drivers probe them: CH reports each on the monitor. */
  private activateDevices(config: VmConfig): void {
    const console = config.console as { mode: string };
    if (console.mode !== 'Off') this.options.events.emit('virtio-device', 'activated', { id: '__console' });
    this.options.events.emit('virtio-device', 'activated', { id: '__rng' });
    for (const [id] of [...devices(config, 'disks', '_disk'), ...devices(config, 'net', '_net')]) {
      this.options.events.emit('virtio-device', 'activated', { id });
    }
    const vsock = config.vsock as { id?: string } | undefined | null;
    if (vsock) this.options.events.emit('virtio-device', 'activated', { id: vsock.id ?? '_vsock0' });
  }

  private dropInstance(): void {
    this.vm?.guest.stop();
    this.vm?.vsock?.close();
    this.vm = undefined;
    // CH drops its console devices with the VM instance; the next boot reopens (truncates) them.
    this.closeConsoles();
  }

  /** CH's pre_create_console_devices: the serial file is created (truncated) here, not at boot. */
  private openConsoles(what: string): SerialSink {
    const serial = this.config?.serial as { mode: string; file?: string } | undefined;
    const consoleCfg = this.config?.console as { mode: string; file?: string } | undefined;
    try {
      if (consoleCfg?.mode === 'File' && consoleCfg.file !== undefined)
        closeSync(openSync(consoleCfg.file, 'w', 0o600));
      if (serial?.mode === 'File' && serial.file !== undefined) {
        const fd = openSync(serial.file, 'w', 0o600);
        return { write: (line) => writeSync(fd, `${line}\r\n`), close: () => closeSync(fd) };
      }
    } catch (error) {
      throw new ApiFailure(500, [API, what, 'Error creating console devices', (error as Error).message]);
    }
    if (serial?.mode === 'Tty') {
      const write = (line: string) => {
        try {
          writeSync(1, `${line}\r\n`);
        } catch {
          // A closed stdout loses the guest's output, as a closed tty would; the VMM keeps running.
        }
      };
      return { write, close: () => undefined };
    }
    if (serial !== undefined && !['Null', 'Off'].includes(serial.mode)) {
      this.options.log.warn(`serial mode ${serial.mode} is not simulated by the double; guest output is dropped`);
    }
    return { write: () => undefined, close: () => undefined };
  }

  private closeConsoles(): void {
    this.serial?.close();
    this.serial = undefined;
  }
}

/**
 * vm.info echoes the config after serde filled in CH's defaults (vm_config.rs); a driver comparing
 * it with what it sent must expect them. Only the defaults of top-level sections are applied.
 */
function withChDefaults(body: VmConfig): VmConfig {
  const config = structuredClone(body);
  config.cpus = {
    kvm_hyperv: false,
    max_phys_bits: 46,
    nested: true,
    core_scheduling: 'Vm',
    ...(config.cpus ?? { boot_vcpus: 1, max_vcpus: 1 }),
  };
  config.memory = {
    mergeable: false,
    hotplug_method: 'Acpi',
    shared: false,
    hugepages: false,
    prefault: false,
    thp: true,
    ...(config.memory ?? { size: 512 * 2 ** 20 }),
  };
  config.rng ??= { src: '/dev/urandom', iommu: false };
  config.serial ??= { mode: 'Null' };
  config.console ??= { mode: 'Tty' };
  for (const flag of ['iommu', 'watchdog', 'pvpanic', 'landlock_enable']) config[flag] ??= false;
  return config;
}

/** Device ids as CH assigns them when the config gives none: `_disk0`, `_net1`, … */
function devices(config: VmConfig, key: 'disks' | 'net', prefix: string): Array<[string, number]> {
  const list = (config[key] ?? []) as Array<{ id?: string }>;
  return list.map((device, i) => [device.id ?? `${prefix}${i}`, i]);
}

function deviceTree(config: VmConfig): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  const all = [...devices(config, 'disks', '_disk'), ...devices(config, 'net', '_net')];
  all.forEach(([id], slot) => {
    tree[id] = { id, resources: [], children: [], pci_bdf: `0000:00:${(slot + 2).toString(16).padStart(2, '0')}.0` };
  });
  return tree;
}
