import type { ImageStore } from '../../images/image-store.js';
import type { NetworkService } from '../../network/network-service.js';
import type { StoredNetwork } from '../../network/guest-network.js';
import { parseSubnet } from '../../network/subnet.js';
import type { RepositoryAccess } from '../repository/access.js';
import type { Component } from './component.js';
import { ConsoleComponent } from './console.js';
import { DiskComponent } from './disk.js';
import { HostKeysComponent } from './host-keys.js';
import { NetworkComponent } from './network.js';
import { RepositoryAccessComponent } from './repository-access.js';
import { RuntimeDirComponent } from './runtime-dir.js';
import { SeedComponent } from './seed.js';

export interface BuiltInDeps {
  images: ImageStore;
  qemuImg: () => Promise<string>;
  /** A trusted system program by name (executables.ts). */
  program: (name: string) => Promise<string>;
  network: NetworkService;
  networkSubnet: () => string;
  /** The places on the bridge other environments hold. */
  takenPlaces: () => StoredNetwork[];
  testProvisionFail?: string | undefined;
  repositories?: RepositoryAccess | undefined;
}

/** Every environment's components, in the order they are prepared before each launch (torn down in reverse). */
export function builtInComponents(d: BuiltInDeps): Component[] {
  return [
    new DiskComponent(d.images, d.qemuImg),
    new ConsoleComponent(),
    new RuntimeDirComponent(),
    new NetworkComponent({
      network: d.network,
      taken: d.takenPlaces,
      subnet: () => parseSubnet(d.networkSubnet()),
    }),
    new HostKeysComponent(() => d.program('ssh-keygen')),
    // After the network and host keys: the seed names the NIC the network made and carries the keys.
    new SeedComponent(
      d.images,
      { mkfsFat: () => d.program('mkfs.fat'), mtools: () => d.program('mtools') },
      d.testProvisionFail,
    ),
    // Answers the guest's credential helper and agent from launch on (the clone needs them).
    ...(d.repositories ? [new RepositoryAccessComponent(d.repositories)] : []),
  ];
}
