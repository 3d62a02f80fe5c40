/**
 * Runs hearthd's Cloud Hypervisor driver (the real module, in process) inside a network namespace
 * the test made, so the contract double it starts as the VMM user sees the namespace's TAP:
 * `ip netns exec NS node --import tsx ch-netns-harness.ts '<json>'`. It launches one VM from the
 * given spec, listens for the guest agent where the driver says (hybrid vsock), exchanges a line
 * each way with the double's simulated guest, ends the VM and prints what it saw as one JSON line.
 */
import { lstat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { CloudHypervisorDriver } from '../../src/vmm/cloud-hypervisor/ch-driver.js';
import { listenForGuest, releaseVsockDir, vsockDirOf } from '../../src/vmm/cloud-hypervisor/hybrid-vsock.js';
import type { VmSpec } from '../../src/vmm/driver.js';

interface HarnessInput {
  binary: string;
  firmware: string;
  spec: VmSpec;
  env: Record<string, string>;
}

const input = JSON.parse(process.argv[2] ?? '{}') as HarnessInput;
const driver = new CloudHypervisorDriver(input.binary, '53.0.0', input.env, undefined, input.firmware);
const endpoint = driver.guestChannelEndpoint(input.spec);
if (!('listen' in endpoint)) throw new Error('Cloud Hypervisor must ask hearthd to listen');

const vm = await driver.launch(input.spec);
const dir = vsockDirOf(input.spec);
const dirStats = await lstat(dir);
const server = await listenForGuest(endpoint.listen);
const listenerStats = await lstat(endpoint.listen);

const exchange = await new Promise<{ hello: string; echo: string }>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('the guest never connected over vsock')), 15_000);
  server.once('connection', (socket: Socket) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const lines = text.split('\n');
      if (lines.length === 2) socket.write('ping from hearthd\n');
      if (lines.length >= 3) {
        clearTimeout(timer);
        resolve({ hello: lines[0]!, echo: lines[1]! });
        socket.destroy();
      }
    });
  });
});
const chSocketStats = await lstat(`${dir}/vsock.sock`);
await vm.handle.terminate();
// The VMM closes its vsock socket as it exits: wait for the exit itself, not for a guess at it.
await vm.process.exited;
server.close();
const released = await releaseVsockDir(input.spec);

process.stdout.write(
  `${JSON.stringify({
    endpoint: endpoint.listen,
    dir: { uid: dirStats.uid, gid: dirStats.gid, mode: dirStats.mode & 0o7777 },
    listener: { uid: listenerStats.uid, socket: listenerStats.isSocket() },
    chSocket: { uid: chSocketStats.uid, socket: chSocketStats.isSocket() },
    exchange,
    released: await lstat(dir).then(
      () => 'still there',
      () => 'gone',
    ),
    movedAside: released.movedAside,
  })}\n`,
);
process.exit(0);
