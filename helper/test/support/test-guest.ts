import { ensureTestGuestBuilt } from '../../../scripts/test-guest/build-test-guest.js';

/**
 * The small guest fast VM tests boot under QEMU TCG: Debian's cloud kernel and a busybox
 * initramfs, built from Debian packages by scripts/test-guest/build-test-guest.ts. Paths are
 * absolute, into the cache under <repo>/.cache/test-guest/.
 */
export interface TestGuest {
  /** The kernel image, for QEMU's `-kernel`. */
  kernel: string;
  /** The gzip'd initramfs (busybox, /init, virtio/ACPI modules), for `-initrd`. */
  initrd: string;
  /**
   * A 64 MiB qcow2 holding an empty ext4 filesystem, shared by every test and read-only: boot an
   * overlay of it (`qemu-img create -f qcow2 -F qcow2 -b <baseDisk> <overlay>`) as a virtio disk.
   * The guest mounts /dev/vda, bumps a boot counter on it and prints `HEARTH-DISK boot-count=N`.
   */
  baseDisk: string;
  /** The guest's `uname -r`, e.g. 6.1.0-56-cloud-amd64. */
  kernelVersion: string;
  /** The line printed on the serial console once booted; from then on the ACPI power button powers it off. */
  readyMarker: string;
  /** The kernel command line for `-append`: the console is the first serial port (ttyS0). */
  cmdline: string;
}

let pending: Promise<TestGuest> | undefined;

/** Builds the guest when the cache lacks it or is stale (one build per test process), else reuses it. */
export function ensureTestGuest(): Promise<TestGuest> {
  pending ??= build().catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}

async function build(): Promise<TestGuest> {
  const guest = await ensureTestGuestBuilt({ log: (line) => process.stderr.write(`test guest: ${line}\n`) });
  const { kernel, initrd, baseDisk, kernelVersion, readyMarker, cmdline } = guest;
  return { kernel, initrd, baseDisk, kernelVersion, readyMarker, cmdline };
}
