import { readFileSync } from 'node:fs';
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
import { ChApi, ChApiError, type ChVmConfig } from './ch-api.js';
import { parseEventMonitor } from './event-monitor.js';

export const API_SOCKET = 'api.sock';
export const EVENT_MONITOR = 'events.json';

class ChHandle implements VmHandle {
  constructor(
    private readonly api: ChApi,
    private readonly eventFile: string,
  ) {}

  async status() {
    try {
      const info = await this.api.info();
      switch (info.state) {
        case 'Running':
          return 'running' as const;
        case 'Paused':
          return 'paused' as const;
        case 'Created':
          return 'created' as const;
        case 'Shutdown':
          return 'shutdown' as const;
      }
    } catch (error) {
      // 404/500 before vm.create: the VMM runs but holds no VM.
      if (error instanceof ChApiError) return 'other' as const;
      throw error;
    }
    return 'other' as const;
  }

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
    let text: string;
    try {
      text = readFileSync(this.eventFile, 'utf8');
    } catch {
      return undefined;
    }
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

  constructor(
    readonly binary: string,
    readonly version: string,
    /** Extra environment for the VMM (tests only: the double's PATH and fault settings). */
    private readonly extraEnv: Record<string, string> = {},
    /** Re-checks the binary right before it is started (executables.ts: verifyExecutable). */
    private readonly verifyBinary?: (path: string) => Promise<void>,
  ) {}

  /**
   * Only the VMM's own sockets: as in Cloud Hypervisor, VM options on the command line (even
   * `--serial`) need a payload there; a VM created over the API takes them from `vm.create`.
   */
  args(spec: VmSpec): string[] {
    return [
      '--api-socket',
      `path=${join(spec.runtimeDir, API_SOCKET)}`,
      '--event-monitor',
      `path=${join(spec.runtimeDir, EVENT_MONITOR)}`,
      '--seccomp',
      'true',
    ];
  }

  config(spec: VmSpec): ChVmConfig {
    return {
      cpus: { boot_vcpus: spec.cpus, max_vcpus: spec.cpus },
      memory: { size: spec.memoryMiB * 1024 * 1024 },
      payload: {
        kernel: spec.kernel,
        cmdline: spec.cmdline,
        ...(spec.initrd ? { initramfs: spec.initrd } : {}),
      },
      // qcow2 overlays over a backing file need backing_files (Cloud Hypervisor v51+).
      disks: [{ path: spec.disk, image_type: 'Qcow2', backing_files: true }],
      serial: { mode: 'File', file: spec.consoleFile },
      console: { mode: 'Off' },
    };
  }

  async launch(spec: VmSpec): Promise<LaunchedVm> {
    const process = await launchDetached(this.binary, this.args(spec), {
      outputFile: spec.vmmLogFile,
      verify: this.verifyBinary,
      env: this.extraEnv,
      ...(spec.uid !== undefined && { uid: spec.uid }),
      ...(spec.gid !== undefined && { gid: spec.gid }),
    });
    let exited = false;
    void process.exited.then(() => (exited = true));
    const api = new ChApi(join(spec.runtimeDir, API_SOCKET));
    try {
      await waitFor(
        'the Cloud Hypervisor API socket',
        async () => {
          if (exited) throw new VmmError('cloud-hypervisor exited while starting');
          return api.ping().catch(() => undefined);
        },
        10_000,
      );
      await api.create(this.config(spec));
      await api.boot();
      return { process, handle: new ChHandle(api, join(spec.runtimeDir, EVENT_MONITOR)) };
    } catch (error) {
      await api.close().catch(() => undefined);
      try {
        globalThis.process.kill(process.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      throw error;
    }
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
      argv.slice(0, 2).some((a) => basename(a) === basename(this.binary)) &&
      argv.includes(`path=${join(spec.runtimeDir, API_SOCKET)}`)
    );
  }

  runtimeFiles(): string[] {
    return [API_SOCKET, EVENT_MONITOR];
  }
}
