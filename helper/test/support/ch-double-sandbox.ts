import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import { afterEach, beforeEach } from 'vitest';
import { ChDoubleProcess, eventNames, readEventMonitor } from './cloud-hypervisor-double.js';

/**
 * A scratch directory per test with the files a VM config names, the double started on it, and
 * its API spoken to over the real Unix socket: what the double's own tests share. Call it once at
 * the top of a test file; every double it started is ended after each test.
 */
export function useChDoubleSandbox() {
  let dir = '';
  let doubles: ChDoubleProcess[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ch-double-'));
    writeFileSync(join(dir, 'vmlinux'), 'not a kernel');
    writeFileSync(join(dir, 'disk.qcow2'), 'not a disk');
    doubles = [];
  });

  afterEach(async () => {
    await Promise.all(doubles.map((d) => d.dispose()));
    rmSync(dir, { recursive: true, force: true });
  });

  const paths = () => ({
    socket: join(dir, 'api.sock'),
    events: join(dir, 'events.json'),
    serial: join(dir, 'serial.log'),
    kernel: join(dir, 'vmlinux'),
    disk: join(dir, 'disk.qcow2'),
  });

  /** The VM config a hearthd-like driver would send. */
  const vmConfig = (): Record<string, unknown> => {
    const p = paths();
    return {
      payload: { kernel: p.kernel, cmdline: 'console=ttyS0 root=/dev/vda1' },
      cpus: { boot_vcpus: 2, max_vcpus: 2 },
      memory: { size: 2 * 2 ** 30 },
      disks: [{ path: p.disk, image_type: 'Qcow2', backing_files: true }],
      serial: { mode: 'File', file: p.serial },
      console: { mode: 'Off' },
    };
  };

  /** A double this sandbox ends after the test (for one spawned by hand). */
  const track = (double: ChDoubleProcess): ChDoubleProcess => {
    doubles.push(double);
    return double;
  };

  const start = async (extraArgs: string[] = [], env: Record<string, string> = {}): Promise<ChDoubleProcess> => {
    const p = paths();
    const args = ['--api-socket', `path=${p.socket}`, '--event-monitor', `path=${p.events}`, ...extraArgs];
    const double = track(
      ChDoubleProcess.spawn(args, { HEARTH_CH_DOUBLE_GUEST: 'ready-ms=50,shutdown-ms=100', ...env }),
    );
    await double.waitForApi();
    return double;
  };

  const api = async (method: 'GET' | 'PUT' | 'POST', action: string, body?: unknown): Promise<Reply> => {
    const client = new Client('http://localhost', { socketPath: paths().socket });
    try {
      const res = await client.request({
        method,
        path: `/api/v1/${action}`,
        ...(body === undefined
          ? {}
          : {
              body: typeof body === 'string' ? body : JSON.stringify(body),
              headers: { 'content-type': 'application/json' },
            }),
      });
      const text = await res.body.text();
      return { status: res.statusCode, body: text === '' ? null : (JSON.parse(text) as unknown) };
    } finally {
      await client.close();
    }
  };

  const state = async (): Promise<string | number> => {
    const info = await api('GET', 'vm.info');
    return info.status === 200 ? (info.body as { state: string }).state : info.status;
  };

  const events = () => eventNames(readEventMonitor(paths().events));

  return { dir: () => dir, paths, vmConfig, track, start, api, state, events };
}

export interface Reply {
  status: number;
  body: unknown;
}
