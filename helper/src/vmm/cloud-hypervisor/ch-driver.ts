import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { appendFile, chmod, chown } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { launchVmm } from '../launch.js';
import {
  deviceOf,
  hasGuestChannel,
  rootDisk,
  VmmError,
  type GuestChannelEndpoint,
  type GuestExit,
  type LaunchedVm,
  type VmHandle,
  type VmDeviceKind,
  type VmmCapabilities,
  type VmmDriver,
  type VmSpec,
} from '../driver.js';
import { ChApi, ChApiError, type ChVmConfig } from './ch-api.js';
import { parseEventMonitor } from './event-monitor.js';
import { GUEST_CID, guestListenPath, prepareVsockDir, vsockSocketOf } from './hybrid-vsock.js';

export const API_SOCKET = 'api.sock';
/** Every device kind, and where vm.create takes it (see `config`). */
export const SUPPORTED_DEVICES = {
  disk: 'disks[0], qcow2 with backing files',
  seed: 'disks[1], raw and read-only',
  nic: 'net[0], the TAP by name',
  'guest-channel': 'vsock, hybrid',
} as const satisfies Record<VmDeviceKind, string>;
export const EVENT_MONITOR = 'events.json';
/** Cloud Hypervisor's own log, in the environment's state directory (the VMM writes it by path). */
export const CH_LOG = 'cloud-hypervisor.log';
/** Only the end of the event monitor matters (the last boot and what followed). */
const EVENTS_TAIL_BYTES = 256 * 1024;

/** The last bytes of a file hearthd created and only the VMM writes to (through its fd). */
function readEventsTail(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const { size } = fstatSync(fd);
    const length = Math.min(size, EVENTS_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, size - length);
    const text = buffer.subarray(0, read).toString('utf8');
    // A cut start is a partial event: resume at the first blank-line boundary.
    return size > length ? text.slice(text.indexOf('\n\n') + 2) : text;
  } finally {
    closeSync(fd);
  }
}

class ChHandle implements VmHandle {
  constructor(
    private readonly api: ChApi,
    private readonly eventFile: string,
  ) {}

  async powerButton(): Promise<void> {
    await this.api.powerButton();
  }

  async terminate(): Promise<void> {
    try {
      await this.api.shutdownVm();
    } catch (error) {
      // 405 (not booted) or 404 (no VM) still leaves a VMM to end.
      if (!(error instanceof ChApiError)) throw error;
    }
    try {
      await this.api.shutdownVmm();
    } catch (error) {
      // The VMM may close the connection as it exits.
      if (error instanceof ChApiError) throw error;
    }
  }

  /** Cloud Hypervisor keeps no connection open; hearthd's /proc watcher notices its exit. */
  onClose(): void {
    // Intentionally nothing: see above.
  }

  get lastExit(): GuestExit | undefined {
    const text = readEventsTail(this.eventFile);
    if (text === undefined) return undefined;
    const events = parseEventMonitor(`${text}\n\n`).events;
    let lastBoot = -1;
    events.forEach((e, i) => {
      if (e.source === 'vm' && (e.event === 'booted' || e.event === 'rebooted')) lastBoot = i;
    });
    const after = events.slice(lastBoot + 1);
    if (after.some((e) => e.event === 'panic')) return 'guest-panic';
    if (after.some((e) => e.source === 'vm' && e.event === 'shutdown')) return 'guest-poweroff';
    if (after.some((e) => e.source === 'vmm' && e.event === 'shutdown')) return 'host-request';
    return undefined;
  }

  detach(): void {
    void this.api.close();
  }
}

/**
 * Cloud Hypervisor: the process is started with only its sockets and files on the command line;
 * the VM is configured with `vm.create` and started with `vm.boot` over the REST API.
 */
export class CloudHypervisorDriver implements VmmDriver {
  readonly kind = 'cloud-hypervisor' as const;
  /** Cloud Hypervisor needs KVM. */
  readonly accel = 'kvm' as const;
  readonly capabilities: VmmCapabilities = {
    // Its disks and serial console are configured as paths (vm.create), opened as the VMM user.
    opensFilesByPath: true,
    // Its serial file is created anew by vm.create.
    truncatesConsole: true,
    // Hybrid vsock: the guest's agent connects to a socket hearthd listens on.
    vsock: true,
    snapshot: false,
    restore: false,
  };

  constructor(
    readonly binary: string,
    readonly version: string,
    /** Extra environment for the VMM (tests only: the double's PATH and fault settings). */
    private readonly extraEnv: Record<string, string> = {},
    /** Re-checks the binary right before it is started (executables.ts: verifyExecutable). */
    private readonly verifyBinary?: (path: string) => Promise<void>,
    /** CLOUDHV.fd of the installed release (vmm/install), for firmware boot; absent: none installed. */
    readonly firmware?: string,
  ) {}

  /**
   * Only the VMM's own sockets, handed over as fds (`api` and `events`), and its log: as in
   * Cloud Hypervisor, VM options on the command line (even `--serial`) need a payload there; a
   * VM created over the API takes them from `vm.create`.
   */
  args(spec: VmSpec, fds: { api: number; events: number }): string[] {
    return [
      '--api-socket',
      `fd=${fds.api}`,
      '--event-monitor',
      `fd=${fds.events}`,
      '--log-file',
      join(spec.stateDir, CH_LOG),
      '--seccomp',
      'true',
    ];
  }

  config(spec: VmSpec): ChVmConfig {
    const seed = deviceOf(spec, 'seed');
    const nic = deviceOf(spec, 'nic');
    return {
      cpus: { boot_vcpus: spec.cpus, max_vcpus: spec.cpus },
      memory: { size: spec.memoryMiB * 1024 * 1024 },
      payload:
        spec.boot.mode === 'kernel'
          ? {
              kernel: spec.boot.kernel,
              cmdline: spec.boot.cmdline,
              ...(spec.boot.initrd ? { initramfs: spec.boot.initrd } : {}),
            }
          : // On x86_64 CH loads the firmware as it loads a kernel (a PVH ELF), without a command line.
            { firmware: this.firmwareFile() },
      disks: [
        // qcow2 overlays over a backing file need backing_files (Cloud Hypervisor v51+).
        { path: rootDisk(spec), image_type: 'Qcow2', backing_files: true },
        // The NoCloud seed: raw, and read-only, so CH opens it O_RDONLY (the VMM user may only read it).
        ...(seed ? [{ path: seed.path, readonly: true, image_type: 'Raw' as const }] : []),
      ],
      // The TAP exists, is up and is the VMM user's (network component): CH opens it without
      // privileges only when it is asked for nothing else (no ip, mask, host_mac or mtu).
      ...(nic && { net: [{ tap: nic.tap, mac: nic.mac }] }),
      ...(hasGuestChannel(spec) && { vsock: { cid: GUEST_CID, socket: vsockSocketOf(spec) } }),
      serial: { mode: 'File', file: spec.consoleFile },
      console: { mode: 'Off' },
    };
  }

  /** CLOUDHV.fd of the installed release; firmware boot cannot start without it. */
  private firmwareFile(): string {
    if (this.firmware) return this.firmware;
    throw new VmmError(
      'Cloud Hypervisor has no firmware (CLOUDHV.fd) installed; run the Cloud Hypervisor setup step (hearthd install-cloud-hypervisor)',
    );
  }

  /** Hybrid vsock: the guest's connection to the host's port P arrives on `<vsock socket>_P` (hybrid-vsock.ts). */
  guestChannelEndpoint(spec: VmSpec): GuestChannelEndpoint {
    return { listen: guestListenPath(spec) };
  }

  launch(spec: VmSpec): Promise<LaunchedVm> {
    // Before vm.create: a configuration that cannot be built must fail before a VMM is started.
    let config: ChVmConfig | undefined;
    return launchVmm({
      name: 'cloud-hypervisor',
      binary: this.binary,
      spec,
      verify: this.verifyBinary,
      env: this.extraEnv,
      prepare: async () => {
        await this.prepareLog(spec);
        config = this.config(spec);
        if (hasGuestChannel(spec)) await prepareVsockDir(spec);
      },
      handOver: async (handoff) => ({
        api: await handoff.listen(join(spec.runtimeDir, API_SOCKET)),
        events: await handoff.file(join(spec.runtimeDir, EVENT_MONITOR), 'append'),
      }),
      args: (fds) => this.args(spec, fds),
      control: {
        what: 'the Cloud Hypervisor API socket',
        connect: async () => {
          const api = new ChApi(join(spec.runtimeDir, API_SOCKET));
          try {
            await api.ping();
            return api;
          } catch {
            await api.close().catch(() => undefined);
            return undefined;
          }
        },
      },
      boot: async (api) => {
        await api.create(config!);
        await api.boot();
        return new ChHandle(api, join(spec.runtimeDir, EVENT_MONITOR));
      },
      abandon: (api) => api.close(),
    });
  }

  /** Its log is opened by path, as the VMM user: make it the VMM's file in root's directory. */
  private async prepareLog(spec: VmSpec): Promise<void> {
    const log = join(spec.stateDir, CH_LOG);
    // Group root, as the VMM's other files (components/disk.ts, handOver): hearthd, without
    // CAP_DAC_OVERRIDE, can still reach it; the VMM user cannot change that group. Taken back
    // first, in case its owner changed the mode to lock hearthd out.
    const own = async () => {
      if (spec.uid !== undefined) await chown(log, spec.uid, 0);
      await chmod(log, spec.uid !== undefined ? 0o660 : 0o600);
    };
    await own().catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    });
    await appendFile(log, '', { mode: 0o600 });
    await own();
  }

  async attach(spec: VmSpec): Promise<VmHandle> {
    const api = new ChApi(join(spec.runtimeDir, API_SOCKET));
    try {
      await api.ping();
    } catch (error) {
      await api.close().catch(() => undefined);
      throw error;
    }
    return new ChHandle(api, join(spec.runtimeDir, EVENT_MONITOR));
  }

  owns(argv: readonly string[], spec: VmSpec): boolean {
    return (
      // argv[0], or argv[1] when the binary is a script run through its interpreter.
      argv.slice(0, 2).some((a) => basename(a) === basename(this.binary)) && argv.includes(join(spec.stateDir, CH_LOG))
    );
  }
}
