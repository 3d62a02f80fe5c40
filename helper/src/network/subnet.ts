/**
 * IPv4 subnets as hearthd uses them: the bridge takes the first host address, environments the
 * ones after it. Addresses are numbers here and dotted strings only at the edges.
 */
export interface Subnet {
  /** The network address, as a 32-bit unsigned number. */
  network: number;
  prefix: number;
}

export function parseSubnet(cidr: string): Subnet {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  if (!match) throw new Error(`not an IPv4 subnet: ${cidr}`);
  const prefix = Number(match[2]);
  if (prefix < 1 || prefix > 30) throw new Error(`prefix /${prefix} is out of range`);
  const address = parseAddress(match[1]!);
  const mask = maskOf(prefix);
  return { network: (address & mask) >>> 0, prefix };
}

export function parseAddress(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`not an IPv4 address: ${text}`);
  return parts.reduce((n, p) => (n << 8) + p, 0) >>> 0;
}

export function formatAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Host addresses environments may take: 2 … last before broadcast. */
export function hostCount(subnet: Subnet): number {
  return 2 ** (32 - subnet.prefix) - 2;
}

export function addressOf(subnet: Subnet, host: number): string {
  if (host < 1 || host > hostCount(subnet)) throw new Error(`host ${host} is outside /${subnet.prefix}`);
  return formatAddress(subnet.network + host);
}

export function bridgeAddress(subnet: Subnet): string {
  return addressOf(subnet, 1);
}

export function formatSubnet(subnet: Subnet): string {
  return `${formatAddress(subnet.network)}/${subnet.prefix}`;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const mask = maskOf(prefix);
  return (a.network & mask) >>> 0 === (b.network & mask) >>> 0;
}
