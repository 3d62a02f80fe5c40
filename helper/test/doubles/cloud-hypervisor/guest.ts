import { parseInteger, parseOptions, parseToggle } from './option-parser.js';
import type { GuestVsockBehaviour } from './vsock.js';

/**
 * A stand-in for the guest OS: what a driver observes of a guest through CH is its serial output
 * and its reaction to the ACPI power button. Timing and behaviour are set by environment:
 *
 *   HEARTH_CH_DOUBLE_GUEST="ready-ms=<n>,shutdown-ms=<n>,acpi=on|off,vsock-port=<p>,vsock-send=<file>"
 *
 *   ready-ms     delay from vm.boot to the `HEARTH-GUEST-READY` serial line (default 100)
 *   shutdown-ms  delay from vm.power-button to the guest powering off (default 200)
 *   acpi=off     the guest ignores the power button, like a guest without acpid (default on)
 *   vsock-port   once up, the guest connects to host (CID 2) port <p> over the VM's vsock device
 *   vsock-send   what it sends there (a file's content, at most 1 MiB; default a hello line)
 */

export const READY_MARKER = 'HEARTH-GUEST-READY';

export interface GuestBehaviour {
  readyMs: number;
  shutdownMs: number;
  acpi: boolean;
  vsock: GuestVsockBehaviour;
}

export function parseGuestBehaviour(spec: string | undefined): GuestBehaviour {
  const options = parseOptions(spec ?? '', ['ready-ms', 'shutdown-ms', 'acpi', 'vsock-port', 'vsock-send']);
  const port = options.get('vsock-port');
  return {
    readyMs: parseInteger(options.get('ready-ms') ?? '100', 'ready-ms'),
    shutdownMs: parseInteger(options.get('shutdown-ms') ?? '200', 'shutdown-ms'),
    acpi: parseToggle(options.get('acpi') ?? 'on', 'acpi'),
    vsock: {
      port: port === undefined ? undefined : parseInteger(port, 'vsock-port'),
      sendFile: options.get('vsock-send'),
    },
  };
}

type Pending = 'ready' | 'poweroff';

export class Guest {
  private readonly timers = new Map<Pending, NodeJS.Timeout>();
  private readonly pending = new Set<Pending>();
  private paused = false;

  constructor(
    private readonly behaviour: GuestBehaviour,
    /** Writes a line to the guest's serial port (wherever the VM config sends it). */
    private readonly serial: (line: string) => void,
    /** The guest powered itself off (ACPI S5): CH's guest-exit path. */
    private readonly onPowerOff: () => void,
    private readonly describe: string,
    /** The guest is up (its ready marker is out): its agent may start talking. */
    private readonly onReady: () => void = () => undefined,
  ) {}

  /** Firmware/kernel start: early console lines now, the ready marker once "userspace" is up. */
  start(): void {
    this.serial(`[double] ${this.describe}`);
    this.serial('[double] simulated guest: kernel started, no real code runs here');
    this.arm('ready');
  }

  /** vCPUs stop: nothing the guest would do happens while paused. */
  pause(): void {
    this.paused = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** The ACPI power button event; a guest with acpid shuts down after a while. */
  powerButton(): void {
    if (!this.behaviour.acpi) {
      this.serial('[double] simulated guest: ACPI power button ignored (acpi=off)');
      return;
    }
    this.arm('poweroff');
  }

  /** The VM is gone (shutdown, reboot, delete): the guest does nothing more. */
  stop(): void {
    this.pause();
    this.pending.clear();
  }

  private arm(what: Pending): void {
    this.pending.add(what);
    if (!this.paused) this.schedule(what);
  }

  private schedule(what: Pending): void {
    if (this.timers.has(what)) return;
    const delay = what === 'ready' ? this.behaviour.readyMs : this.behaviour.shutdownMs;
    const timer = setTimeout(() => {
      this.timers.delete(what);
      this.pending.delete(what);
      if (what === 'ready') {
        this.serial(READY_MARKER);
        this.onReady();
      } else {
        this.serial('[double] simulated guest: power button pressed, powering off');
        this.onPowerOff();
      }
    }, delay);
    this.timers.set(what, timer);
  }
}
