import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChDoubleProcess, CH_DOUBLE_PATH, GUEST_READY_MARKER } from './support/cloud-hypervisor-double.js';
import { useChDoubleSandbox } from './support/ch-double-sandbox.js';
import { eventually } from './support/eventually.js';

/**
 * Tests of the Cloud Hypervisor contract double itself, its command line: a real process spawned by absolute path,
 * spoken to over its real Unix socket. Driver tests rely on these behaviours matching CH v53.
 */

const { paths, track, start, api } = useChDoubleSandbox();

describe('cloud-hypervisor-double command line', () => {
  const run = (args: string[]) => spawnSync(CH_DOUBLE_PATH, args, { encoding: 'utf8' });

  it('prints its version like CH, named a double', () => {
    const out = run(['--version']);
    expect(out.status).toBe(0);
    expect(out.stdout).toBe('cloud-hypervisor v53.0.0-double\n');
    expect(run(['-V', '-v']).stdout).toContain('Enabled features: ["io_uring", "kvm"]');
  });

  it('rejects unknown flags and bad values with clap-style errors and exit 2', () => {
    const unknown = run(['--api-socket', '/tmp/x.sock', '--bogus']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("error: unexpected argument '--bogus' found");
    const seccomp = run(['--seccomp', 'maybe']);
    expect(seccomp.status).toBe(2);
    expect(seccomp.stderr).toContain("invalid value 'maybe' for '--seccomp <seccomp>'");
    expect(run([]).status).toBe(2);
  });

  it('refuses VM options such as --serial without a payload, as CH v53 does', () => {
    const out = run(['--api-socket', `path=${paths().socket}`, '--serial', `file=${paths().serial}`]);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('the following required arguments were not provided');
    expect(out.stderr).toContain('<--firmware <firmware>|--kernel <kernel>>');
  });

  it('starts serving its API socket in well under a second', async () => {
    const begin = Date.now();
    await start();
    const elapsed = Date.now() - begin;
    console.log(`cloud-hypervisor-double served its API ${elapsed} ms after spawn`);
    expect(elapsed).toBeLessThan(2_500);
    expect((statSync(paths().socket).mode & 0o777).toString(8)).toBe('700');
  });

  it('creates and boots a VM given on the command line', async () => {
    const p = paths();
    const double = ChDoubleProcess.spawn([
      '--api-socket',
      p.socket,
      '--kernel',
      p.kernel,
      '--cpus',
      'boot=2',
      '--memory',
      'size=1G',
      '--serial',
      `file=${p.serial}`,
      '--console',
      'off',
      '--disk',
      `path=${p.disk},image_type=qcow2,backing_files=on`,
    ]);
    track(double);
    await double.waitForApi();
    const info = await api('GET', 'vm.info');
    expect(info.status).toBe(200);
    const body = info.body as { state: string; config: Record<string, unknown>; memory_actual_size: number };
    expect(body.state).toBe('Running');
    expect(body.memory_actual_size).toBe(2 ** 30);
    expect(body.config.disks).toEqual([{ path: p.disk, image_type: 'Qcow2', backing_files: true }]);
    await eventually(() => existsSync(p.serial) && readFileSync(p.serial, 'utf8').includes(GUEST_READY_MARKER));
  });
});
