import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from './log.js';

/**
 * What CH checks when it builds a VM at vm.boot (VmConfig::validate, PayloadConfig::validate, the
 * device manager opening payloads, disks and TAPs): the spec cannot express these, and a driver
 * that gets them wrong fails only here. Each failure is CH's message chain, outermost first.
 */
export class BootCheckFailure extends Error {
  constructor(readonly chain: string[]) {
    super(chain.join(': '));
  }
}

type Config = Record<string, unknown>;
interface Payload {
  kernel?: string;
  firmware?: string;
  igvm?: string;
  initramfs?: string;
  cmdline?: string;
}
interface Disk {
  path?: string;
  readonly?: boolean;
  vhost_user?: boolean;
}
interface Net {
  tap?: string;
  ip?: string;
  mask?: string;
  mac?: string;
  host_mac?: string;
  mtu?: number;
  num_queues?: number;
  vhost_user?: boolean;
}
interface Vsock {
  cid: number;
  socket: string;
}

const IFF_UP = 0x1;
const IFF_TAP = 0x2;
const IFF_MULTI_QUEUE = 0x100;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const MAX_SOCKET_PATH = 107;

export function checkBootable(config: Config, log: Logger): void {
  checkPayload(config, log);
  const cpus = config.cpus as { boot_vcpus: number; max_vcpus: number };
  if (cpus.max_vcpus < cpus.boot_vcpus) fail('Error validating configuration', 'Max CPUs lower than boot CPUs');
  for (const disk of (config.disks ?? []) as Disk[]) checkDisk(disk);
  for (const net of (config.net ?? []) as Net[]) checkNet(net, log);
  if (config.vsock !== undefined && config.vsock !== null) checkVsock(config.vsock as Vsock);
}

function fail(...chain: string[]): never {
  throw new BootCheckFailure(chain);
}

function openable(path: string, mode: number, message: string): void {
  try {
    accessSync(path, mode);
  } catch (error) {
    fail(message, `${path}: ${(error as Error).message}`);
  }
}

/** PayloadConfig::validate: firmware or kernel, not both; firmware drops cmdline and initramfs. */
function checkPayload(config: Config, log: Logger): void {
  const payload = config.payload as Payload;
  if (payload.igvm !== undefined) {
    openable(payload.igvm, constants.R_OK, 'Cannot open IGVM file');
    return;
  }
  if (payload.firmware !== undefined && payload.kernel !== undefined)
    fail('Error validating configuration', 'Payload: firmware plus other payloads (kernel) is not supported');
  if (payload.firmware === undefined && payload.kernel === undefined)
    fail('Error validating configuration', 'No kernel specified');
  if (payload.firmware !== undefined) {
    if (payload.cmdline !== undefined) log.warn('Ignoring cmdline parameter as firmware is provided as the payload');
    if (payload.initramfs !== undefined)
      log.warn('Ignoring initramfs parameter as firmware is provided as the payload');
    openable(payload.firmware, constants.R_OK, 'Cannot open firmware file');
    return;
  }
  openable(payload.kernel!, constants.R_OK, 'Cannot open kernel file');
  if (payload.initramfs !== undefined) openable(payload.initramfs, constants.R_OK, 'Cannot open initramfs file');
}

/** CH opens a disk read-write unless it is `readonly` (then O_RDONLY: the seed disk must say so). */
function checkDisk(disk: Disk): void {
  if (disk.vhost_user === true || disk.path === undefined) return;
  const mode = disk.readonly === true ? constants.R_OK : constants.R_OK | constants.W_OK;
  openable(disk.path, mode, 'Error from device manager: cannot open disk image');
}

/**
 * net_util::open_tap for an existing, named TAP as an unprivileged VMM user: it must be a TAP this
 * user may attach to (tun `owner`), already up (CH only brings a TAP up when it is down, which
 * needs CAP_NET_ADMIN), single-queue for the default num_queues=2 (one pair), and it is given no
 * host_mac or mtu (both ioctls need CAP_NET_ADMIN). `ip`/`mask` are ignored for an existing TAP.
 * Read from sysfs: the double cannot issue TUNSETIFF.
 */
function checkNet(net: Net, log: Logger): void {
  if (net.vhost_user === true) return;
  if (net.mac !== undefined && !MAC.test(net.mac)) fail('Error parsing --net', `invalid MAC address ${net.mac}`);
  if (net.tap === undefined)
    fail('Error creating virtio-net device', 'the double creates no TAP: name an existing one');
  const sys = `/sys/class/net/${net.tap}`;
  const read = (file: string) => {
    try {
      return readFileSync(`${sys}/${file}`, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const tunFlags = read('tun_flags');
  if (!existsSync(sys) || tunFlags === undefined)
    fail('Error creating virtio-net device', `Open tap device failed: no TAP ${net.tap}`);
  if ((Number(tunFlags) & IFF_TAP) === 0) fail('Error creating virtio-net device', `${net.tap} is a TUN, not a TAP`);
  const pairs = Math.max(1, Math.floor((net.num_queues ?? 2) / 2));
  const multi = (Number(tunFlags) & IFF_MULTI_QUEUE) !== 0;
  if (multi !== pairs > 1)
    fail(
      'Error creating virtio-net device',
      `Error related to the multiqueue support (${multi ? 'no support device side' : 'no support TAP side'})`,
    );
  const uid = process.getuid?.() ?? 0;
  const owner = Number(read('owner') ?? '-1');
  const group = Number(read('group') ?? '-1');
  const privileged = uid === 0;
  if (!privileged && owner !== -1 && owner !== uid && (group === -1 || !(process.getgroups?.() ?? []).includes(group)))
    fail('Error creating virtio-net device', `Open tap device failed: ${net.tap} belongs to uid ${owner} (EPERM)`);
  if (!privileged && (Number(read('flags')) & IFF_UP) === 0)
    fail(
      'Error creating virtio-net device',
      `Enabling tap interface failed: ${net.tap} is down and this VMM has no CAP_NET_ADMIN`,
    );
  if (!privileged && net.host_mac !== undefined)
    fail('Error creating virtio-net device', 'Setting MAC address failed (EPERM)');
  if (!privileged && net.mtu !== undefined) fail('Error creating virtio-net device', 'Setting MTU failed (EPERM)');
  if (net.ip !== undefined || net.mask !== undefined)
    log.warn(`Tap ${net.tap} already exists. IP configuration will not be overwritten.`);
}

/** virtio-vsock's Unix backend binds `socket` itself, so its directory must be the VMM's to write. */
function checkVsock(vsock: Vsock): void {
  if (Buffer.byteLength(`${vsock.socket}_4294967295`) > MAX_SOCKET_PATH)
    fail('Error creating virtio-vsock device', `socket path ${vsock.socket} is too long for sockaddr_un`);
  if (existsSync(vsock.socket))
    fail('Error creating virtio-vsock device', 'Error binding the Unix socket: Address in use');
  openable(dirname(vsock.socket), constants.W_OK | constants.X_OK, 'Error creating virtio-vsock device');
}
