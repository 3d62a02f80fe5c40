import { launchDetached } from '../system/process.js';
import { VmmError, waitFor, type LaunchedVm, type VmHandle, type VmSpec } from './driver.js';
import { withHandoff, type Handoff } from './handoff.js';

/** How long a VMM has, once started, before its control socket must answer. */
const CONTROL_TIMEOUT_MS = 10_000;

/** What differs between VMMs in starting one; everything else is `launchVmm`'s. */
export interface VmmLaunch<F, C> {
  /** The VMM's name in messages ("QEMU", "cloud-hypervisor"). */
  name: string;
  binary: string;
  spec: VmSpec;
  /** Re-checks the binary: before any file is opened for it, and once more right before the exec. */
  verify?: ((binary: string) => Promise<void>) | undefined;
  /** Extra environment for the VMM process. */
  env?: Record<string, string>;
  /** Files and settings the VMM needs before it starts (after the binary is verified). */
  prepare?: () => Promise<void>;
  /** Binds and opens what the VMM is handed as fds (hearthd's own sockets and files). */
  handOver: (handoff: Handoff) => Promise<F>;
  /** The VMM's command line, given the fds as it will see them. */
  args: (fds: F) => string[];
  /** The control socket: polled until it answers (undefined: not yet), what it is called in messages. */
  control: { what: string; connect: () => Promise<C | undefined> };
  /** Once the control socket answers: configure and boot the VM as needed, and return its handle. */
  boot: (control: C) => Promise<VmHandle>;
  /** Releases the control connection when the launch fails after it was made. */
  abandon?: (control: C) => Promise<void>;
}

/**
 * Starts a VMM the way every driver does: verify the binary, hand it its sockets and files as
 * fds, start it detached as the VMM user, wait for its control socket (failing at once if it
 * exits first), then let the driver boot the VM. A launch that fails after the process started
 * kills it, so no half-started VMM is left behind.
 */
export async function launchVmm<F, C>(launch: VmmLaunch<F, C>): Promise<LaunchedVm> {
  const { spec } = launch;
  await launch.verify?.(launch.binary);
  await launch.prepare?.();
  const process = await withHandoff(launch.handOver, (fds, handed) =>
    launchDetached(launch.binary, launch.args(fds), {
      outputFile: spec.vmmLogFile,
      fds: handed,
      verify: launch.verify,
      ...(launch.env && { env: launch.env }),
      ...(spec.uid !== undefined && { uid: spec.uid }),
      ...(spec.gid !== undefined && { gid: spec.gid }),
    }),
  );
  let exited = false;
  void process.exited.then(() => (exited = true));
  let control: C | undefined;
  try {
    control = await waitFor(
      launch.control.what,
      async () => {
        if (exited) throw new VmmError(`${launch.name} exited while starting`);
        return launch.control.connect();
      },
      CONTROL_TIMEOUT_MS,
    );
    return { process, handle: await launch.boot(control) };
  } catch (error) {
    if (control !== undefined) await launch.abandon?.(control).catch(() => undefined);
    try {
      globalThis.process.kill(process.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    throw error;
  }
}
