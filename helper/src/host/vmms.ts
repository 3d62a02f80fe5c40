import type { DetectedVmm, VmmKind } from '#protocol';
import { findExecutable, readVersion } from './executables.js';
import type { HostRoot } from './host-root.js';

const BINARIES: Record<VmmKind, string> = {
  'cloud-hypervisor': 'cloud-hypervisor',
  qemu: 'qemu-system-x86_64',
};

/** The VMMs installed on the machine, preferred first. */
export async function detectVmms(host: HostRoot): Promise<DetectedVmm[]> {
  const found = await Promise.all(
    (Object.keys(BINARIES) as VmmKind[]).map(async (kind): Promise<DetectedVmm | undefined> => {
      const lookup = await findExecutable(host, BINARIES[kind]);
      if (!lookup.found) return undefined;
      const version = (await readVersion(lookup.executable)) ?? 'unknown';
      return { kind, path: lookup.executable.path, version };
    }),
  );
  return found.filter((vmm): vmm is DetectedVmm => vmm !== undefined);
}
