/**
 * Attaches fake guests to the real network code by TAP: the real NetworkService makes the bridge,
 * one TAP per guest (owned by `nobody`, as for a VMM user), hearthd's nftables tables, forwarding
 * and dnsmasq, in the network namespace this runs in. No VM: whoever opens a TAP (as a VMM would)
 * speaks for that guest. Attack tests and checks from outside the test suite drive it alike.
 *
 * As a script, inside a namespace of one's own:
 *   ip netns exec NS npx tsx helper/test/network/harness.ts --guests FILE.json [--runtime DIR] [--subnet CIDR]
 * prints `{"bridge":…,"taps":{id:tap}}` on one line and holds everything until it reads a line on
 * stdin, then detaches every guest (the last takes bridge, rules and dnsmasq with it) and exits.
 * hearthd's log goes to stderr. HEARTH_TEST_NETWORK_CRASH_AT=<point> kills it at that point.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { lookupUser } from '../../src/system/passwd.js';
import { HostRoot } from '../../src/system/host-root.js';
import { createLogger } from '../../src/log.js';
import type { GuestAttachment } from '../../src/network/guest-network.js';
import { DEFAULT_BRIDGE } from '../../src/network/names.js';
import { NetworkService, type NetworkCrashPoint } from '../../src/network/network-service.js';
import { NetworkTools } from '../../src/network/tools.js';
import { DEFAULT_SETTINGS } from '../../src/settings/settings-store.js';

export type FakeGuest = GuestAttachment;

export interface HarnessOptions {
  /** Where the network keeps its state and dnsmasq's files (a fresh temporary directory if absent). */
  runtimeDir?: string;
  /** The guests' subnet; their addresses must lie in it. */
  subnet?: string;
}

let service: NetworkService | undefined;
const attached: string[] = [];

export async function attachGuests(
  guests: readonly FakeGuest[],
  options: HarnessOptions = {},
): Promise<{ bridge: string; taps: Record<string, string> }> {
  if (service) throw new Error('guests are attached already: detachAll first');
  const runtimeDir = options.runtimeDir ?? (await mkdtemp(join(tmpdir(), 'hearth-net-harness-')));
  const subnet = options.subnet ?? DEFAULT_SETTINGS.networkSubnet;
  const crashAt = process.env.HEARTH_TEST_NETWORK_CRASH_AT as NetworkCrashPoint | undefined;
  const log = createLogger('info', process.stderr);
  service = new NetworkService({
    runtimeDir,
    bridge: DEFAULT_BRIDGE,
    tools: new NetworkTools(new HostRoot('/', 0)),
    settings: () => ({ ...DEFAULT_SETTINGS, networkSubnet: subnet }),
    log,
    crashPoint: (point) => {
      if (point !== crashAt) return;
      log.warn({ point }, 'test crash point reached: killing the harness');
      process.kill(process.pid, 'SIGKILL');
    },
  });
  await service.open();
  await service.reconcile();
  const tapOwner = await lookupUser('nobody');
  const taps: Record<string, string> = {};
  for (const guest of guests) {
    taps[guest.id] = (await service.attach(guest, tapOwner)).tap;
    attached.push(guest.id);
  }
  return { bridge: DEFAULT_BRIDGE, taps };
}

export async function detachAll(): Promise<void> {
  if (!service) return;
  while (attached.length) await service.detach(attached.pop()!);
  service.close();
  service = undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { guests: { type: 'string' }, runtime: { type: 'string' }, subnet: { type: 'string' } },
  });
  if (!values.guests) throw new Error('usage: harness.ts --guests FILE.json [--runtime DIR] [--subnet CIDR]');
  const guests = JSON.parse(await readFile(values.guests, 'utf8')) as FakeGuest[];
  const result = await attachGuests(guests, {
    ...(values.runtime !== undefined && { runtimeDir: values.runtime }),
    ...(values.subnet !== undefined && { subnet: values.subnet }),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  const lines = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => {
    lines.once('line', () => resolve());
    lines.once('close', () => resolve());
  });
  lines.close();
  await detachAll();
  process.exit(0);
}
