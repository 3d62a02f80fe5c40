import type { Environment, EnvironmentStats } from '#protocol';

export function statsOf(id: string, at: number, cpuPercent = 5, rssBytes = 100 * 1024 ** 2): EnvironmentStats {
  return {
    id,
    name: 'web',
    owner: { uid: 1000 },
    state: 'running',
    sampledAt: new Date(at).toISOString(),
    vmm: { pid: 4242, cpuPercent, rssBytes },
    memory: { configuredBytes: 128 * 1024 ** 2, guestUsedBytes: null },
    disk: { allocatedBytes: 3 * 1024 ** 2, sizeBytes: 1024 ** 3 },
  };
}

export function environmentOf(id: string, state: Environment['state']): Environment {
  const now = new Date().toISOString();
  return {
    id,
    name: 'web',
    owner: { uid: 1000 },
    repository: null,
    class: 'tiny',
    image: 'test-guest',
    state,
    reason: null,
    desired: 'running',
    autostart: false,
    resources: { cpus: 1, memoryMiB: 128, diskGiB: 1 },
    vmm: { kind: 'qemu', version: '7.2.0', pid: 4242 },
    network: null,
    ssh: null,
    provisioning: null,
    createdAt: now,
    updatedAt: now,
    startedAt: now,
    readyAt: now,
    stoppedAt: null,
  };
}
