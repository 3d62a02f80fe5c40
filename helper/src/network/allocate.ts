import { randomBytes } from 'node:crypto';
import type { StoredNetwork } from './guest-network.js';
import { DomainError } from '../errors.js';
import { hostCount, type Subnet } from './subnet.js';

/**
 * An environment's place on the bridge, chosen once at create: the lowest free host number (the
 * bridge is 1) and a fresh locally administered MAC in QEMU's prefix, both unique among `taken`.
 * Stable from then on, so the address and DHCP reservation survive restarts.
 */
export function allocateNetwork(taken: readonly StoredNetwork[], subnet: Subnet, isolated: boolean): StoredNetwork {
  const hosts = new Set(taken.map((n) => n.host));
  const last = Math.min(hostCount(subnet), 65534);
  let host = 2;
  while (hosts.has(host) && host <= last) host += 1;
  if (host > last)
    throw new DomainError(
      'limit',
      `The environment network has no free address left (${last - 1} environments with a network)`,
      'delete an environment, or ask an administrator for a larger networkSubnet',
    );
  const macs = new Set(taken.map((n) => n.mac));
  let mac: string;
  do mac = `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  while (macs.has(mac));
  return { host, mac, isolated };
}
