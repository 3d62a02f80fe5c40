import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureTestGuest, type TestGuest } from './support/test-guest.js';
import { eventually } from './support/eventually.js';

// A boot takes ~3 s here; the bounds leave room for a loaded 2-core CI machine under TCG.
const BOOT_TIMEOUT_MS = 30_000;
const POWEROFF_TIMEOUT_MS = 15_000;
const QMP_TIMEOUT_MS = 5_000;

/** A host program's path (sbin included), or a failure that says which Debian package to install. */
function hostTool(name: string, debianPackage: string): string {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  throw new Error(`${name} is missing: sudo apt-get install -y --no-install-recommends ${debianPackage}`);
}

const qemuBinary = () => hostTool('qemu-system-x86_64', 'qemu-system-x86');

/** Rejects unless `promise` settles within `ms`. */
async function within<T>(ms: number, promise: Promise<T>, what = 'the operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

/** Just enough QMP: the capabilities handshake, one command at a time, and every event kept. */
class Qmp {
  readonly events: QmpEvent[] = [];
  private buffered = '';
  private waiting: ((message: Record<string, unknown>) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('error', () => undefined); // QEMU closes the socket when it exits
  }

  static async connect(path: string): Promise<Qmp> {
    const socket = connect(path);
    const qmp = new Qmp(socket);
    await within(QMP_TIMEOUT_MS, qmp.next(), `the QMP greeting on ${path}`);
    await qmp.execute('qmp_capabilities');
    return qmp;
  }

  async execute(command: string): Promise<unknown> {
    const reply = this.next();
    this.socket.write(`${JSON.stringify({ execute: command })}\n`);
    const message = await within(QMP_TIMEOUT_MS, reply, `QMP ${command}`);
    if ('error' in message) throw new Error(`QMP ${command} failed: ${JSON.stringify(message.error)}`);
    return message.return;
  }

  close(): void {
    this.socket.destroy();
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve) => (this.waiting = resolve));
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    let end: number;
    while ((end = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, end).trim();
      this.buffered = this.buffered.slice(end + 1);
      if (!line) continue;
      const message = JSON.parse(line) as Record<string, unknown>;
      if ('event' in message) this.events.push(message as unknown as QmpEvent);
      else this.waiting?.(message);
    }
  }
}

// QEMU's output is kept (all) for failure messages; its exit code is checked, not thrown (reject).
const QEMU_OPTIONS = { reject: false, all: true, stdin: 'ignore' } as const;

/** One QEMU TCG process booting the test guest, its serial console written to a file. */
class Vm {
  readonly console: string;
  readonly qmpSocket: string;
  readonly startedAt = Date.now();
  exitCode: number | undefined | null = null;
  private readonly qemu: ResultPromise<typeof QEMU_OPTIONS>;

  constructor(guest: TestGuest, dir: string, name: string, disk?: string) {
    this.console = join(dir, `${name}.console.log`);
    this.qmpSocket = join(dir, `${name}.qmp.sock`);
    // prettier-ignore
    const args = [
      '-accel', 'tcg', '-m', '256', '-smp', '1',
      '-nodefaults', '-display', 'none', '-nic', 'none', '-no-reboot',
      '-kernel', guest.kernel, '-initrd', guest.initrd, '-append', guest.cmdline,
      '-serial', `file:${this.console}`,
      '-qmp', `unix:${this.qmpSocket},server=on,wait=off`,
      ...(disk ? ['-drive', `file=${disk},format=qcow2,if=virtio`] : []),
    ];
    this.qemu = execa(qemuBinary(), args, QEMU_OPTIONS);
    void this.qemu.then((result) => (this.exitCode = result.exitCode));
  }

  async consoleText(): Promise<string> {
    return readFile(this.console, 'utf8').catch(() => '');
  }

  /** Polls the console until a whole line matches; fails early if QEMU has exited. */
  async waitForLine(line: RegExp, timeoutMs = BOOT_TIMEOUT_MS): Promise<RegExpExecArray> {
    const pattern = new RegExp(`^${line.source}\\r?$`, 'm');
    return eventually(async () => pattern.exec(await this.consoleText()) ?? undefined, {
      what: `the console to show ${pattern}`,
      timeoutMs,
      giveUp: () => (this.exitCode === null ? undefined : `QEMU exited (${this.exitCode})`),
      context: async () => `${(await this.consoleText()).slice(-3000)}\n${await this.output()}`,
    });
  }

  /** Presses the ACPI power button over QMP and returns the QMP events seen until QEMU exited. */
  async powerDown(): Promise<QmpEvent[]> {
    const qmp = await Qmp.connect(this.qmpSocket);
    try {
      await qmp.execute('system_powerdown');
      const exited = this.qemu.then((result) => result.exitCode);
      const code = await within(POWEROFF_TIMEOUT_MS, exited).catch(async () => {
        const text = await this.consoleText();
        throw new Error(`QEMU still runs ${POWEROFF_TIMEOUT_MS} ms after system_powerdown:\n${text.slice(-3000)}`);
      });
      expect(code, await this.output()).toBe(0);
      return qmp.events;
    } finally {
      qmp.close();
    }
  }

  async kill(): Promise<void> {
    if (this.exitCode === null) this.qemu.kill('SIGKILL');
    await this.qemu;
  }

  private async output(): Promise<string> {
    return this.exitCode === null ? '' : `QEMU output:\n${(await this.qemu).all}`;
  }
}

/** Reads a qcow2 disk's ext4 filesystem on the host: was it cleanly unmounted, and what does the counter say? */
async function inspectDisk(disk: string, dir: string): Promise<{ needsRecovery: boolean; bootCount: string }> {
  const raw = join(dir, 'inspect.raw');
  await execa(hostTool('qemu-img', 'qemu-utils'), ['convert', '-f', 'qcow2', '-O', 'raw', disk, raw]);
  const { stdout: superblock } = await execa(hostTool('dumpe2fs', 'e2fsprogs'), ['-h', raw]);
  // debugfs does not replay the journal: after an unclean stop it would not see the new counter.
  const { stdout: bootCount } = await execa(hostTool('debugfs', 'e2fsprogs'), ['-R', 'cat /boot-count', raw]);
  await rm(raw);
  return { needsRecovery: /^Filesystem features:.*\bneeds_recovery\b/m.test(superblock), bootCount: bootCount.trim() };
}

/** The ready marker as a pattern for Vm.waitForLine. */
const readyLine = (guest: TestGuest) => new RegExp(guest.readyMarker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

describe('the test guest under QEMU TCG', () => {
  let guest: TestGuest;
  let dir: string;
  const vms: Vm[] = [];
  const boot = (name: string, disk?: string) => {
    const vm = new Vm(guest, dir, name, disk);
    vms.push(vm);
    return vm;
  };

  beforeAll(async () => {
    qemuBinary();
    guest = await ensureTestGuest(); // downloads and builds on a cold cache: seconds, or minutes with apt-get update
  }, 600_000);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-test-guest-'));
  });

  afterEach(async () => {
    await Promise.all(vms.splice(0).map((vm) => vm.kill()));
    await rm(dir, { recursive: true, force: true });
  });

  it('boots to the ready marker and powers off cleanly on the ACPI power button', async () => {
    const vm = boot('diskless');
    await vm.waitForLine(readyLine(guest));
    console.log(`test guest (${guest.kernelVersion}) ready ${Date.now() - vm.startedAt} ms after QEMU started`);

    const events = await vm.powerDown();
    // A guest-initiated ACPI S5 power-off, not a panic or reset (-no-reboot turns those into exits too).
    expect(events).toContainEqual(
      expect.objectContaining({
        event: 'SHUTDOWN',
        data: expect.objectContaining({ guest: true, reason: 'guest-shutdown' }),
      }),
    );
    expect(await vm.consoleText()).toMatch(/^HEARTH-GUEST-POWEROFF\r?$/m);
    expect(await vm.consoleText()).not.toMatch(/HEARTH-GUEST-ERROR|Kernel panic/);
  }, 60_000);

  it('keeps its disk across boots', async () => {
    const overlay = join(dir, 'disk.qcow2');
    const qemuImg = hostTool('qemu-img', 'qemu-utils');
    await execa(qemuImg, ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', guest.baseDisk, overlay]);

    for (const expected of [1, 2]) {
      const vm = boot(`boot-${expected}`, overlay);
      await vm.waitForLine(/HEARTH-DISK boot-count=\d+/);
      await vm.waitForLine(readyLine(guest));
      expect(await vm.consoleText()).toMatch(new RegExp(`^HEARTH-DISK boot-count=${expected}\\r?$`, 'm'));
      await vm.powerDown();
      expect(await vm.consoleText()).not.toMatch(/HEARTH-GUEST-ERROR|Kernel panic/);
    }
    // The power button unmounted the filesystem before the power went: the host sees it clean.
    expect(await inspectDisk(overlay, dir)).toEqual({ needsRecovery: false, bootCount: '2' });
  }, 120_000);
});
