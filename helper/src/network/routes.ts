import { formatAddress, maskOf, parseAddress, type Subnet } from './subnet.js';
import type { NetworkTools } from './tools.js';

/** A route as `ip -j route show table all` lists it (the fields hearthd reads). */
export interface Route {
  dst: string;
  dev?: string;
  type?: string;
  table?: string;
  gateway?: string;
}

export async function readRoutes(tools: NetworkTools): Promise<Route[]> {
  const out = await tools.run('ip', ['-j', '-4', 'route', 'show', 'table', 'all']);
  const parsed: unknown = JSON.parse(out || '[]');
  if (!Array.isArray(parsed)) return [];
  return parsed.filter((r): r is Route => typeof (r as Route | null)?.dst === 'string');
}

function routeSubnet(dst: string): Subnet | undefined {
  const [address = '', prefixText = '32'] = dst.split('/');
  const prefix = Number(prefixText);
  if (!/^\d{1,2}$/.test(prefixText) || prefix > 32) return undefined;
  try {
    return { network: (parseAddress(address) & maskOf(prefix)) >>> 0, prefix };
  } catch {
    return undefined;
  }
}

/**
 * The first unicast route (not the default, not via hearthd's own bridge) whose destination
 * overlaps `subnet`: guests there would shadow, or be shadowed by, part of the host's network.
 */
export function overlappingRoute(subnet: Subnet, routes: readonly Route[], bridge: string): Route | undefined {
  return routes.find((route) => {
    if (route.dst === 'default' || route.dev === bridge) return false;
    if (route.type !== undefined && route.type !== 'unicast') return false;
    const dst = routeSubnet(route.dst);
    if (!dst) return false;
    const prefix = Math.min(dst.prefix, subnet.prefix);
    const mask = maskOf(prefix);
    return (dst.network & mask) >>> 0 === (subnet.network & mask) >>> 0;
  });
}

/** `10.131.0.0/16 dev eth0` as a person reads it in `ip route`. */
export function describeRoute(route: Route): string {
  const dst = routeSubnet(route.dst);
  const shown = dst ? `${formatAddress(dst.network)}/${dst.prefix}` : route.dst;
  return [
    shown,
    route.gateway && `via ${route.gateway}`,
    route.dev && `dev ${route.dev}`,
    route.table && route.table !== 'main' && `table ${route.table}`,
  ]
    .filter(Boolean)
    .join(' ');
}

/** Interface names as `ip` may print them that nft reads plainly inside quotes. */
const DEVICE_NAME = /^[A-Za-z0-9_.@-]{1,15}$/;

/** What isolation is built from: where the default routes leave, and everything routed otherwise. */
export interface RoutePolicy {
  defaultDevices: string[];
  /** Normalised `a.b.c.d/n`, sorted. */
  routedElsewhere: string[];
}

/**
 * From the host's routes (every table): the interfaces its default routes leave by, and every
 * other unicast prefix it routes (a LAN, a VPN, a container network), except the bridge's own.
 * An isolated guest may leave only by the former and never reach the latter.
 */
export function routePolicy(routes: readonly Route[], bridge: string): RoutePolicy {
  const unicast = routes.filter((r) => r.type === undefined || r.type === 'unicast');
  const defaultDevices = new Set<string>();
  const elsewhere = new Set<string>();
  for (const route of unicast) {
    if (route.dst === 'default') {
      if (route.dev && DEVICE_NAME.test(route.dev)) defaultDevices.add(route.dev);
      continue;
    }
    if (route.dev === bridge) continue;
    const dst = routeSubnet(route.dst);
    if (dst) elsewhere.add(`${formatAddress(dst.network)}/${dst.prefix}`);
  }
  return { defaultDevices: [...defaultDevices].sort(), routedElsewhere: [...elsewhere].sort() };
}
