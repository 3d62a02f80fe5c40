import { basename, join } from 'node:path';
import { launchVmm } from '../launch.js';
import {
  deviceOf,
  hasGuestChannel,
  rootDisk,
  VmmError,
  GUEST_CHANNEL_NAME,
  GUEST_CHANNEL_SOCKET,
  type GuestChannelEndpoint,
  type GuestExit,
  type LaunchedVm,
  type VmHandle,
  type VmDeviceKind,
  type VmmCapabilities,
  type VmmDriver,
  type VmSpec,
} from '../driver.js';
import { QmpClient, type QmpEvent } from './qmp-client.js';

export const QMP_SOCKET = 'qmp.sock';
/** Every device kind, and how QEMU takes it (see the functions named). */
export const SUPPORTED_DEVICES = {
  disk: 'virtio-blk from an fd set',
  seed: 'seedArgs',
  nic: 'networkArgs',
  'guest-channel': 'channelArgs',
} as const satisfies Record<VmDeviceKind, string>;
const DISK_SET = 1;
const CONSOLE_SET = 2;
const SEED_SET = 3;

/** The fds QEMU is handed, as it will see them. */
export interface QemuFds {
  qmp: number;
  console: number;
  disk: number;
  diskReadOnly: number;
  /** The seed disk, opened read-only: QEMU cannot write it even if asked to. */
  seed?: number | undefined;
  /** The guest channel's listener (hearthd connects to its path, QEMU accepts). */
  agent?: number | undefined;
}

/** Maps QEMU's SHUTDOWN reasons to ours. */
function exitOf(event: QmpEvent): GuestExit | undefined {
  if (event.event === 'GUEST_PANICKED') return 'guest-panic';
  if (event.event !== 'SHUTDOWN') return undefined;
  const reason = typeof event.data?.reason === 'string' ? event.data.reason : '';
  if (reason === 'guest-shutdown') return 'guest-poweroff';
  if (reason === 'guest-reset') return 'guest-reset';
  if (reason === 'guest-panic') return 'guest-panic';
  if (reason.startsWith('host-')) return 'host-request';
  return 'unknown';
}

/**
 * Direct kernel boot names the files; firmware boot leaves QEMU's default firmware (SeaBIOS on
 * q35) to boot the disk: it reads its ROMs before -sandbox applies, and spawns nothing.
 */
function bootArgs(boot: VmSpec['boot']): string[] {
  if (boot.mode === 'firmware') return [];
  return ['-kernel', boot.kernel, ...(boot.initrd ? ['-initrd', boot.initrd] : []), '-append', boot.cmdline];
}

/** cloud-init's NoCloud seed: a second virtio disk, read-only. */
function seedArgs(spec: VmSpec, fd: number | undefined): string[] {
  const seed = deviceOf(spec, 'seed');
  if (seed === undefined || fd === undefined) return [];
  return [
    '-add-fd',
    `fd=${fd},set=${SEED_SET},opaque=${seed.path}`,
    '-drive',
    `file=/dev/fdset/${SEED_SET},if=virtio,format=raw,readonly=on`,
  ];
}

/**
 * The TAP hearthd made for this VM (owned by the VMM user, so QEMU opens it without privilege);
 * no scripts: QEMU runs nothing. Without one, -nodefaults leaves the guest without a NIC.
 */
function networkArgs(spec: VmSpec): string[] {
  const nic = deviceOf(spec, 'nic');
  if (!nic) return [];
  // Both are hearthd's own (a TAP it named, a MAC of the record's pattern); a comma would still
  // start another QEMU option, so anything else is refused rather than passed on.
  const { tap, mac } = nic;
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(tap) || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac))
    throw new VmmError(`refusing TAP ${JSON.stringify(tap)} / MAC ${JSON.stringify(mac)} on QEMU's command line`);
  return [
    '-netdev',
    `tap,id=net0,ifname=${tap},script=no,downscript=no`,
    '-device',
    `virtio-net-pci,netdev=net0,mac=${mac}`,
  ];
}

/** The guest agent's port (`/dev/virtio-ports/<GUEST_CHANNEL_NAME>` in the guest) on hearthd's listener. */
function channelArgs(fd: number | undefined): string[] {
  if (fd === undefined) return [];
  return [
    '-device',
    'virtio-serial-pci,id=hearth-serial',
    '-chardev',
    `socket,id=agent,fd=${fd},server=on,wait=off`,
    '-device',
    `virtserialport,bus=hearth-serial.0,chardev=agent,name=${GUEST_CHANNEL_NAME}`,
  ];
}

class QemuHandle implements VmHandle {
  lastExit: GuestExit | undefined;

  constructor(private readonly qmp: QmpClient) {
    qmp.onEvent((event) => {
      this.lastExit = exitOf(event) ?? this.lastExit;
    });
  }

  async powerButton(): Promise<void> {
    await this.qmp.execute('system_powerdown');
  }

  async terminate(): Promise<void> {
    try {
      await this.qmp.execute('quit');
    } catch (error) {
      // quit closes the socket, sometimes before the reply arrives.
      if (!this.qmp.isClosed) throw error;
    }
  }

  onClose(listener: () => void): void {
    this.qmp.onClose(listener);
  }

  detach(): void {
    this.qmp.close();
  }
}

/**
 * QEMU, controlled over QMP on a Unix socket. Everything about the VM is on the command line;
 * QMP is used for state, the power button and quit.
 */
export class QemuDriver implements VmmDriver {
  readonly kind = 'qemu' as const;
  readonly capabilities: VmmCapabilities = {
    // Handed its disk and console as fds (`-add-fd` fd sets): they stay root's files.
    opensFilesByPath: false,
    // Appends (`append=on`).
    truncatesConsole: false,
    // No /dev/vhost-vsock on every host: the guest channel is a virtio-serial port.
    vsock: false,
    snapshot: false,
    restore: false,
  };

  constructor(
    readonly binary: string,
    readonly version: string,
    readonly accel: 'kvm' | 'tcg',
    /** Re-checks the binary right before it is started (executables.ts: verifyExecutable). */
    private readonly verifyBinary?: (path: string) => Promise<void>,
  ) {}

  /**
   * `fds`: the QMP listener, the console and the disk, as QEMU will see them. Each fd set's
   * `opaque` names the file it stands for, so the command line still tells which VM this is.
   */
  args(spec: VmSpec, fds: QemuFds): string[] {
    return [
      '-name',
      `hearth-${spec.id}`,
      '-accel',
      this.accel,
      '-machine',
      'q35',
      '-cpu',
      this.accel === 'kvm' ? 'host' : 'max',
      '-smp',
      String(spec.cpus),
      '-m',
      `${spec.memoryMiB}M`,
      '-nodefaults',
      '-no-user-config',
      '-nographic',
      '-no-reboot',
      '-sandbox',
      'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
      ...bootArgs(spec.boot),
      // QEMU dups from a set only an fd of the access mode it asks for; it opens images both ways.
      '-add-fd',
      `fd=${fds.disk},set=${DISK_SET},opaque=${rootDisk(spec)}`,
      '-add-fd',
      `fd=${fds.diskReadOnly},set=${DISK_SET},opaque=${rootDisk(spec)}`,
      '-drive',
      `file=/dev/fdset/${DISK_SET},if=virtio,format=qcow2,discard=unmap`,
      '-add-fd',
      `fd=${fds.console},set=${CONSOLE_SET},opaque=${spec.consoleFile}`,
      '-chardev',
      `file,id=console,path=/dev/fdset/${CONSOLE_SET},append=on`,
      '-serial',
      'chardev:console',
      '-chardev',
      `socket,id=qmp,fd=${fds.qmp},server=on,wait=off`,
      '-mon',
      'chardev=qmp,mode=control',
      ...seedArgs(spec, fds.seed),
      ...networkArgs(spec),
      ...channelArgs(fds.agent),
    ];
  }

  launch(spec: VmSpec): Promise<LaunchedVm> {
    return launchVmm({
      name: 'QEMU',
      binary: this.binary,
      spec,
      verify: this.verifyBinary,
      handOver: async (handoff) => {
        const seed = deviceOf(spec, 'seed');
        return {
          qmp: await handoff.listen(join(spec.runtimeDir, QMP_SOCKET)),
          console: await handoff.file(spec.consoleFile, 'append'),
          disk: await handoff.file(rootDisk(spec), 'read-write'),
          diskReadOnly: await handoff.file(rootDisk(spec), 'read'),
          seed: seed === undefined ? undefined : await handoff.file(seed.path, 'read'),
          agent: hasGuestChannel(spec) ? await handoff.listen(join(spec.runtimeDir, GUEST_CHANNEL_SOCKET)) : undefined,
        };
      },
      args: (fds) => this.args(spec, fds),
      // Everything is on the command line: the VM runs once QMP answers.
      control: { what: 'the QMP socket', connect: () => this.attach(spec).catch(() => undefined) },
      boot: (handle) => Promise.resolve(handle),
      abandon: (handle) => {
        handle.detach();
        return Promise.resolve();
      },
    });
  }

  async attach(spec: VmSpec): Promise<VmHandle> {
    return new QemuHandle(await QmpClient.connect(join(spec.runtimeDir, QMP_SOCKET), 2_000));
  }

  guestChannelEndpoint(spec: VmSpec): GuestChannelEndpoint {
    return { connect: join(spec.runtimeDir, GUEST_CHANNEL_SOCKET) };
  }

  owns(argv: readonly string[], spec: VmSpec): boolean {
    return (
      argv.slice(0, 2).some((a) => basename(a) === basename(this.binary)) &&
      argv.includes(`hearth-${spec.id}`) &&
      argv.some((a) => a.endsWith(`opaque=${rootDisk(spec)}`))
    );
  }
}
