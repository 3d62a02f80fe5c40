import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnvironmentRecord } from '../../src/environments/record.js';

/** A v3 record as hearthd writes one for a running environment (tests change what they need). */
export function sampleRecord(): EnvironmentRecord {
  return {
    version: 3,
    components: {},
    spec: {
      id: 'env-0123456789ab',
      name: 'web',
      owner: { uid: 1000 },
      class: 'small',
      image: 'ubuntu-24.04',
      resources: { cpus: 2, memoryMiB: 4096, diskGiB: 20 },
      desired: 'running',
      autostart: true,
      createdAt: '2025-01-02T03:04:05.000Z',
    },
    status: {
      state: 'running',
      reason: null,
      vmm: { kind: 'qemu', version: '8.2.2', pid: 4242 },
      updatedAt: '2025-01-02T03:05:00.000Z',
      startedAt: '2025-01-02T03:04:10.000Z',
      readyAt: '2025-01-02T03:04:30.000Z',
      stoppedAt: null,
    },
    runtime: {
      kind: 'qemu',
      binary: '/usr/bin/qemu-system-x86_64',
      version: '8.2.2',
      accel: 'kvm',
      pid: 4242,
      startTime: 123456,
      consoleOffset: 0,
      vmmLogOffset: 17,
    },
  };
}

/** A scratch directory for one test, removed by the returned function. */
export async function scratch(prefix: string): Promise<{ dir: string; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, done: () => rm(dir, { recursive: true, force: true }) };
}
