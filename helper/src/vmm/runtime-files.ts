import { releaseVsockDir } from './cloud-hypervisor/hybrid-vsock.js';

/**
 * Removes what any VMM may have left beside an environment's runtime directory, whichever VMM
 * ran it (a record may name one driver while a crash left another's files): today Cloud
 * Hypervisor's hybrid vsock directory, whose sockets the VMM user made. Returns the entries the
 * VMM user had left there that were moved aside rather than followed.
 */
export async function releaseVmmFiles(vm: { id: string; runtimeDir: string }): Promise<{ movedAside: string[] }> {
  return releaseVsockDir(vm);
}
