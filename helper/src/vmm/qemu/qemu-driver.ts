import { basename, join } from 'node:path';
import { launchDetached } from '../process.js';
import {
  VmmError,
  waitFor,
  type GuestExit,
  type LaunchedVm,
  type VmHandle,
  type VmmDriver,
  type VmSpec,
} from '../driver.js';
import { QmpClient, type QmpEvent } from './qmp-client.js';

export const QMP_SOCKET = 'qmp.sock';

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

class QemuHandle implements VmHandle {
  lastExit: GuestExit | undefined;

  constructor(private readonly qmp: QmpClient) {
    qmp.onEvent((event) => {
      this.lastExit = exitOf(event) ?? this.lastExit;
    });
  }

  async status() {
    const result = await this.qmp.execute('query-status');
    if (result.status === 'running') return 'running' as const;
    if (result.status === 'paused' || result.status === 'prelaunch') return 'paused' as const;
    if (result.status === 'shutdown') return 'shutdown' as const;
    return 'other' as const;
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

  constructor(
    readonly binary: string,
    readonly version: string,
    readonly accel: 'kvm' | 'tcg',
    /** Re-checks the binary right before it is started (executables.ts: verifyExecutable). */
    private readonly verifyBinary?: (path: string) => Promise<void>,
  ) {}

  args(spec: VmSpec): string[] {
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
      '-kernel',
      spec.kernel,
      ...(spec.initrd ? ['-initrd', spec.initrd] : []),
      '-append',
      spec.cmdline,
      '-drive',
      `file=${spec.disk},if=virtio,format=qcow2,discard=unmap`,
      '-chardev',
      `file,id=console,path=${spec.consoleFile},append=on`,
      '-serial',
      'chardev:console',
      '-qmp',
      `unix:${join(spec.runtimeDir, QMP_SOCKET)},server=on,wait=off`,
    ];
  }

  async launch(spec: VmSpec): Promise<LaunchedVm> {
    const process = await launchDetached(this.binary, this.args(spec), {
      outputFile: spec.vmmLogFile,
      verify: this.verifyBinary,
      ...(spec.uid !== undefined && { uid: spec.uid }),
      ...(spec.gid !== undefined && { gid: spec.gid }),
    });
    let exited = false;
    void process.exited.then(() => (exited = true));
    try {
      const handle = await waitFor(
        'the QMP socket',
        async () => {
          if (exited) throw new VmmError('QEMU exited while starting');
          return this.attach(spec).catch(() => undefined);
        },
        10_000,
      );
      return { process, handle };
    } catch (error) {
      try {
        globalThis.process.kill(process.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      throw error;
    }
  }

  async attach(spec: VmSpec): Promise<VmHandle> {
    return new QemuHandle(await QmpClient.connect(join(spec.runtimeDir, QMP_SOCKET), 2_000));
  }

  owns(argv: readonly string[], spec: VmSpec): boolean {
    return (
      argv.slice(0, 2).some((a) => basename(a) === basename(this.binary)) &&
      argv.includes(`hearth-${spec.id}`) &&
      argv.some((a) => a.includes(join(spec.runtimeDir, QMP_SOCKET)))
    );
  }

  runtimeFiles(): string[] {
    return [QMP_SOCKET];
  }
}
