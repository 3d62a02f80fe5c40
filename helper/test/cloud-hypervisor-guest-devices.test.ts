import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRequestRecord } from './doubles/cloud-hypervisor/request-record.js';
import { VSOCK_HELLO } from './doubles/cloud-hypervisor/vsock.js';
import { CloudHypervisorDriver } from '../src/vmm/cloud-hypervisor/ch-driver.js';
import type { VmSpec } from '../src/vmm/driver.js';
import { assertAllRequestsValid, CH_DOUBLE_PATH, CH_SPEC_PATH } from './support/cloud-hypervisor-double.js';

/**
 * vm.create for a cloud image: firmware boot, the TAP, the read-only seed disk and hybrid vsock
 * for the guest channel, against the contract double (no Cloud Hypervisor binary here) running
 * as an unprivileged VMM user inside a network namespace this test makes. What is proven: every
 * request is valid against the v53.0 spec, what CH checks when it builds the VM holds (firmware
 * and disks openable with the access CH asks for, the TAP the VMM user's, up and single-queue,
 * the vsock directory writable), and a guest connection to host port 7010 reaches hearthd's
 * listener through `<socket>_7010`, both ways.
 */
const VMM_UID = 65534;
const NS = `hearth-ch9-${process.pid}`;
const TAP = 'chtap0';
const HARNESS = resolve(import.meta.dirname, 'support', 'ch-netns-harness.ts');

describe('Cloud Hypervisor guest devices (firmware, TAP, seed, hybrid vsock) by contract', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-ch-devices-'));
    chmodSync(dir, 0o711);
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap', 'user', String(VMM_UID)]);
    execFileSync('ip', ['-n', NS, 'link', 'set', TAP, 'up']);
    // Two a VMM user cannot use: root's, and its own but down (bringing it up needs CAP_NET_ADMIN).
    execFileSync('ip', ['-n', NS, 'tuntap', 'add', 'dev', 'chroot0', 'mode', 'tap', 'user', '0']);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'chroot0', 'up']);
    execFileSync('ip', ['-n', NS, 'tuntap', 'add', 'dev', 'chdown0', 'mode', 'tap', 'user', String(VMM_UID)]);
  });

  afterAll(() => {
    execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });

  /** The files of one VM as the components would leave them for CH, and the harness's input. */
  function vmInput(id: string, tap: string) {
    const state = join(dir, 'state', 'environments', id);
    const run = join(dir, 'run');
    const runtimeDir = join(run, 'vms', id);
    const out = join(dir, `out-${id}`);
    mkdirSync(state, { recursive: true, mode: 0o711 });
    mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
    chmodSync(join(dir, 'state'), 0o711);
    chmodSync(join(dir, 'state', 'environments'), 0o711);
    chmodSync(run, 0o711);
    mkdirSync(out, { mode: 0o700 });
    chownSync(out, VMM_UID, VMM_UID);
    // The installed release's firmware: root's, world-readable (vmm/install).
    const firmware = join(dir, 'CLOUDHV.fd');
    writeFileSync(firmware, 'not really firmware', { mode: 0o644 });
    // The overlay is the VMM user's (components/disk.ts for CH); the seed stays root's, readable
    // by the VMM group only: CH must open it read-only.
    const disk = join(state, 'disk.qcow2');
    writeFileSync(disk, 'qcow2', { mode: 0o660 });
    chownSync(disk, VMM_UID, 0);
    const seed = join(state, 'seed.img');
    writeFileSync(seed, 'vfat', { mode: 0o640 });
    chownSync(seed, 0, VMM_UID);
    const consoleFile = join(state, 'console.log');
    writeFileSync(consoleFile, '', { mode: 0o660 });
    chownSync(consoleFile, VMM_UID, 0);
    const record = join(out, 'requests.jsonl');

    const input = {
      binary: CH_DOUBLE_PATH,
      firmware,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HEARTH_CH_DOUBLE_RECORD: record,
        HEARTH_CH_DOUBLE_SPEC: CH_SPEC_PATH,
        HEARTH_CH_DOUBLE_GUEST: 'ready-ms=50,vsock-port=7010',
      },
      spec: {
        id,
        cpus: 2,
        memoryMiB: 2048,
        boot: { mode: 'firmware' },
        devices: [
          { kind: 'disk', path: disk },
          { kind: 'seed', path: seed },
          { kind: 'nic', tap, mac: '52:54:00:12:34:56' },
          { kind: 'guest-channel' },
        ],
        stateDir: state,
        consoleFile,
        vmmLogFile: join(state, 'vmm.log'),
        runtimeDir,
        uid: VMM_UID,
        gid: VMM_UID,
      },
    };
    return { input, record, firmware, disk, seed, run };
  }

  const runHarness = (input: object) =>
    execFileSync('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', HARNESS, JSON.stringify(input)], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  it('boots a firmware VM with TAP, read-only seed and vsock, and carries the guest channel', () => {
    const id = 'envch01';
    const { input, record, firmware, disk, seed, run } = vmInput(id, TAP);
    const stdout = runHarness(input);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      endpoint: string;
      dir: { uid: number; gid: number; mode: number };
      listener: { uid: number; socket: boolean };
      chSocket: { uid: number; socket: boolean };
      exchange: { hello: string; echo: string };
      released: string;
      movedAside: string[];
    };

    const requests = parseRequestRecord(readFileSync(record, 'utf8'));
    assertAllRequestsValid(requests);
    const create = requests.find((r) => r.action === 'vm.create')!;
    expect(create.body).toMatchObject({
      payload: { firmware },
      disks: [
        { path: disk, image_type: 'Qcow2', backing_files: true },
        { path: seed, readonly: true, image_type: 'Raw' },
      ],
      net: [{ tap: TAP, mac: '52:54:00:12:34:56' }],
      vsock: { cid: 3, socket: join(run, 'vsock', id, 'vsock.sock') },
    });
    // Nothing CH would need privileges for: no address, host MAC or MTU on the TAP, no cmdline.
    expect((create.body as { net: object[] }).net[0]).not.toHaveProperty('ip');
    expect(create.body).not.toHaveProperty('payload.cmdline');
    expect(requests.map((r) => `${r.action}:${r.status}`)).toEqual(
      expect.arrayContaining(['vm.create:204', 'vm.boot:204']),
    );

    expect(result.endpoint).toBe(join(run, 'vsock', id, 'vsock.sock_7010'));
    // Root's directory, the VMM group may add entries and pass, nobody else; sticky.
    expect(result.dir).toEqual({ uid: 0, gid: VMM_UID, mode: 0o1730 });
    expect(result.listener).toEqual({ uid: 0, socket: true });
    expect(result.chSocket).toEqual({ uid: VMM_UID, socket: true });
    expect(result.exchange.hello).toBe(`${VSOCK_HELLO} cid=3 port=7010`);
    expect(result.exchange.echo).toBe('echo ping from hearthd');
    expect(result.released).toBe('gone');
    expect(result.movedAside).toEqual([]);
  });

  it.each([
    ['chroot0', /chroot0 belongs to uid 0/],
    ['chdown0', /chdown0 is down and this VMM has no CAP_NET_ADMIN/],
  ])('refuses a VM on TAP %s, as CH would as the VMM user', (tap, reason) => {
    const { input } = vmInput(`env${tap}`, tap);
    expect(() => runHarness(input)).toThrow(reason);
  });

  it('refuses firmware boot before starting anything when no firmware is installed, naming the setup step', () => {
    const { input } = vmInput('envnofw', TAP);
    const driver = new CloudHypervisorDriver(CH_DOUBLE_PATH, '53.0.0', {}, undefined, undefined);
    expect(() => driver.config(input.spec as VmSpec)).toThrow(/no firmware \(CLOUDHV.fd\).*install-cloud-hypervisor/);
  });
});
