import type { VmmKind } from '#protocol';
import type { DetachedProcess } from '../system/process.js';

/** Everything a VMM needs to run one VM. All paths are hearthd's own, never a caller's. */
export interface VmSpec {
  /** Environment id; also the VM's name. */
  id: string;
  cpus: number;
  memoryMiB: number;
  /** Direct kernel boot (local builds, test guests) or the VMM's firmware (cloud images). */
  boot: KernelBoot | FirmwareBoot;
  /** What the environment's components attached to it (an open list: see VmDevice). */
  devices: VmDevice[];
  /**
   * The environment's own state directory. Drivers name a file in it on the VMM's command line
   * (world-readable in /proc), so a VMM left without a pid file by a crash can still be found.
   */
  stateDir: string;
  /** Serial console output file (appended). */
  consoleFile: string;
  /** The VMM's own stdout/stderr. */
  vmmLogFile: string;
  /** Per-VM runtime directory, root's own: control socket, event monitor, pid file. */
  runtimeDir: string;
  uid?: number;
  gid?: number;
}

/**
 * A device a component attaches to the VM. Components contribute these as a list; each driver
 * turns every kind it supports into its command line or configuration, and lists the kinds it
 * supports (`SUPPORTED_DEVICES` in each driver), so a new kind fails to compile until every
 * driver has decided what to do with it.
 */
export type VmDevice =
  /** The environment's qcow2 overlay, read-write: exactly one. */
  | { kind: 'disk'; path: string }
  /** The cloud-init NoCloud seed (raw vfat, label CIDATA), attached read-only. */
  | { kind: 'seed'; path: string }
  /** A TAP device hearthd made for this VM, owned by the VMM user, and the guest's MAC on it. */
  | { kind: 'nic'; tap: string; mac: string }
  /**
   * The private channel to the guest's agent: QEMU a virtio-serial port named `GUEST_CHANNEL_NAME`
   * on a socket hearthd binds in the runtime directory (`GUEST_CHANNEL_SOCKET`) and hands over;
   * Cloud Hypervisor hybrid vsock. hearthd's guest session is its only client.
   */
  | { kind: 'guest-channel' };
export type VmDeviceKind = VmDevice['kind'];

/** The one device of `kind` in `spec`, if any; a second is refused (neither VMM's setup takes two yet). */
export function deviceOf<K extends VmDeviceKind>(
  spec: Pick<VmSpec, 'devices'>,
  kind: K,
): Extract<VmDevice, { kind: K }> | undefined {
  const found = spec.devices.filter((d): d is Extract<VmDevice, { kind: K }> => d.kind === kind);
  if (found.length > 1) throw new VmmError(`a VM takes one ${kind} device, not ${found.length}`);
  return found[0];
}

/** The root disk's path: every VM has exactly one. */
export function rootDisk(spec: Pick<VmSpec, 'devices'>): string {
  const disk = deviceOf(spec, 'disk');
  if (!disk) throw new VmmError('a VM needs its disk');
  return disk.path;
}

/** True when the VM is given the guest channel. */
export const hasGuestChannel = (spec: Pick<VmSpec, 'devices'>): boolean =>
  deviceOf(spec, 'guest-channel') !== undefined;

export interface KernelBoot {
  mode: 'kernel';
  kernel: string;
  initrd: string | null;
  cmdline: string;
}

/** QEMU's default firmware; Cloud Hypervisor's CLOUDHV.fd (from its installed release). */
export interface FirmwareBoot {
  mode: 'firmware';
}

/** The virtio-serial port name the guest agent opens (`/dev/virtio-ports/<name>`). */
export const GUEST_CHANNEL_NAME = 'org.hearth.agent.0';
/** The guest channel's socket in the VM's runtime directory (QEMU; bound by hearthd, handed over). */
export const GUEST_CHANNEL_SOCKET = 'agent.sock';
/** The vsock port the guest agent connects to on the host (CID 2) under Cloud Hypervisor. */
export const GUEST_CHANNEL_VSOCK_PORT = 7010;

/** Why a VM's guest went away, as far as the VMM told us before it exited. */
export type GuestExit = 'guest-poweroff' | 'guest-reset' | 'host-request' | 'guest-panic' | 'unknown';

/** A live connection to one VMM's control socket. */
export interface VmHandle {
  /** ACPI power button: asks the guest to shut down. */
  powerButton(): Promise<void>;
  /** Ends the VM and the VMM process at once (the guest gets no say). */
  terminate(): Promise<void>;
  /** Called once when the control connection closes (usually: the VMM exited). */
  onClose(listener: () => void): void;
  /** What the VMM said about the guest's end, if it said anything. */
  readonly lastExit: GuestExit | undefined;
  /** Stops watching without touching the VM (hearthd shutting down). */
  detach(): void;
}

export type GuestChannelEndpoint = { connect: string } | { listen: string };

export interface LaunchedVm {
  process: DetachedProcess;
  handle: VmHandle;
}

/**
 * What a driver can do, declared by the driver, so that code above the VMM layer asks about a
 * capability rather than knowing which VMM runs (`kind` is for display and records only).
 */
export interface VmmCapabilities {
  /** Opens the disk and console by path (they must then be the VMM user's files), not as handed fds. */
  opensFilesByPath: boolean;
  /** Truncates its console file as it creates the VM (each boot starts at 0). */
  truncatesConsole: boolean;
  /** The guest channel is vsock (the guest's agent connects to the host), not a virtio-serial port. */
  vsock: boolean;
  /** Hearth can save a running VM's memory and devices with this driver. Not implemented yet by either. */
  snapshot: boolean;
  /** Hearth can start a VM from such a snapshot with this driver. Not implemented yet by either. */
  restore: boolean;
}

/** One VMM (Cloud Hypervisor, QEMU) behind the same calls. */
export interface VmmDriver {
  readonly kind: VmmKind;
  readonly binary: string;
  readonly version: string;
  /** What runs the guest's CPUs. */
  readonly accel: 'kvm' | 'tcg';
  readonly capabilities: VmmCapabilities;
  /** Starts a detached VMM for `spec`, configures and boots it; resolves once it runs the guest. */
  launch(spec: VmSpec): Promise<LaunchedVm>;
  /** Reconnects to a VMM started earlier (by this or an earlier hearthd). */
  attach(spec: VmSpec): Promise<VmHandle>;
  /** Where hearthd reaches the guest agent of `spec`'s VM (QEMU: connect; Cloud Hypervisor: listen). */
  guestChannelEndpoint(spec: VmSpec): GuestChannelEndpoint;
  /** True when `argv` is this driver's VMM running `spec` (a pid file is only a hint). */
  owns(argv: readonly string[], spec: VmSpec): boolean;
}

export class VmmError extends Error {}

/** Polls `check` every `intervalMs` until it returns a value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new VmmError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
