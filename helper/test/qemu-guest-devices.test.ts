import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestChannel } from '../src/guest/channel.js';
import { createLogger } from '../src/log.js';
import { deviceOf, GUEST_CHANNEL_NAME, type LaunchedVm, type VmSpec } from '../src/vmm/driver.js';
import { QemuDriver } from '../src/vmm/qemu/qemu-driver.js';
import { eventually } from './support/eventually.js';

const MARKER = 'HEARTH-FIRMWARE-BOOT';

/**
 * A boot sector: prints MARKER on COM1 and halts. 16-bit code at 0x7c00:
 *   cli; xor ax,ax; mov ds,ax; mov si,msg; mov dx,0x3f8
 *   l: lodsb; test al,al; jz d; out dx,al; jmp l
 *   d: hlt; jmp d
 *   msg: db MARKER, 13, 10, 0
 */
function bootSector(): Buffer {
  const code = [0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0xbe, 0x16, 0x7c, 0xba, 0xf8, 0x03];
  code.push(0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xf4, 0xeb, 0xfd);
  const sector = Buffer.alloc(1024 * 1024);
  Buffer.from([...code, ...Buffer.from(`${MARKER}\r\n`), 0]).copy(sector);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/** Access modes (O_RDONLY 0, O_WRONLY 1, O_RDWR 2) of every fd `pid` holds on `file`. */
async function accessModes(pid: number, file: string): Promise<number[]> {
  const modes: number[] = [];
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) !== file) continue;
    const flags = /^flags:\s+([0-7]+)/m.exec(await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
    modes.push(parseInt(flags ?? '0', 8) & 0o3);
  }
  return modes;
}

/**
 * The devices #9 adds to QEMU's command line, on a real QEMU (TCG) run by the driver as the
 * unprivileged VMM user: firmware boot (QEMU's default firmware, under its -sandbox), the seed
 * disk handed over read-only, and the guest channel's virtio-serial port on hearthd's listener.
 */
describe('QEMU: firmware boot, read-only seed, guest channel', () => {
  let dir: string;
  let spec: VmSpec;
  let vm: LaunchedVm | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-qemu-devices-'));
    await chmod(dir, 0o711);
    const stateDir = join(dir, 'state');
    const runtimeDir = join(dir, 'run');
    await mkdir(stateDir, { mode: 0o711 });
    await mkdir(runtimeDir, { mode: 0o700 });
    const raw = join(dir, 'boot.raw');
    await writeFile(raw, bootSector());
    const disk = join(stateDir, 'disk.qcow2');
    execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, disk]);
    const seedDisk = join(stateDir, 'seed.img');
    execFileSync('/usr/sbin/mkfs.fat', ['-n', 'CIDATA', '-C', seedDisk, '1024'], { stdio: 'ignore' });
    await chmod(seedDisk, 0o600);
    spec = {
      id: 'env-00000000f00d',
      cpus: 1,
      memoryMiB: 128,
      boot: { mode: 'firmware' },
      devices: [{ kind: 'disk', path: disk }, { kind: 'seed', path: seedDisk }, { kind: 'guest-channel' }],
      stateDir,
      consoleFile: join(stateDir, 'console.log'),
      vmmLogFile: join(stateDir, 'vmm.log'),
      runtimeDir,
      uid: 65534,
      gid: 65534,
    };
  });

  afterAll(async () => {
    if (vm) await vm.handle.terminate().catch(() => undefined);
    if (vm) process.kill(vm.process.pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('boots the disk through the firmware, holds the seed read-only, and offers the agent port', async () => {
    const driver = new QemuDriver('/usr/bin/qemu-system-x86_64', '7.2', 'tcg');
    const args = driver.args(spec, { qmp: 3, console: 4, disk: 5, diskReadOnly: 6, seed: 7, agent: 8 });
    expect(args).not.toContain('-kernel');
    expect(args).toContain(`virtserialport,bus=hearth-serial.0,chardev=agent,name=${GUEST_CHANNEL_NAME}`);
    expect(args).toContain('file=/dev/fdset/3,if=virtio,format=raw,readonly=on');
    // No network in the spec: no NIC at all (-nodefaults), no netdev.
    expect(args.some((a) => a.includes('netdev'))).toBe(false);

    vm = await driver.launch(spec);
    const console = await eventually(
      async () => {
        const text = await readFile(spec.consoleFile, 'utf8').catch(() => '');
        return text.includes(MARKER) ? text : undefined;
      },
      { what: 'the boot sector on the serial console', timeoutMs: 60_000 },
    );
    expect(console).toContain(MARKER);

    // The seed: every fd QEMU has on it is read-only.
    const modes = await accessModes(vm.process.pid, deviceOf(spec, 'seed')!.path);
    expect(modes.length).toBeGreaterThan(0);
    expect(modes.every((m) => m === 0)).toBe(true);

    // hearthd's end of the channel connects to the listener QEMU was handed.
    const endpoint = driver.guestChannelEndpoint(spec);
    expect(endpoint).toEqual({ connect: join(spec.runtimeDir, 'agent.sock') });
    const channel = new GuestChannel({
      endpoint,
      log: createLogger('silent', { write: () => undefined }),
      onMessage: () => undefined,
    }).start();
    try {
      await eventually(() => channel.connected, { what: 'the channel to connect', timeoutMs: 10_000 });
    } finally {
      channel.close();
    }
  }, 120_000);

  const withNic = (tap: string, mac: string): VmSpec => ({
    ...spec,
    devices: [...spec.devices, { kind: 'nic', tap, mac }],
  });

  it('refuses a TAP name or MAC that would add QEMU options', () => {
    const driver = new QemuDriver('/usr/bin/qemu-system-x86_64', '7.2', 'tcg');
    const fds = { qmp: 3, console: 4, disk: 5, diskReadOnly: 6 };
    expect(driver.args(withNic('hearth-t1', '52:54:00:aa:bb:cc'), fds)).toEqual(
      expect.arrayContaining([
        'tap,id=net0,ifname=hearth-t1,script=no,downscript=no',
        'virtio-net-pci,netdev=net0,mac=52:54:00:aa:bb:cc',
      ]),
    );
    expect(() => driver.args(withNic('x,script=/bin/sh', '52:54:00:aa:bb:cc'), fds)).toThrow(/refusing TAP/);
  });
});
