/**
 * The network part of hearthd on its own, for tests that need a networked VM's host side
 * without a VM: the real NetworkService and NetworkComponent, run (by network-process.ts) in
 * the test's "workstation" namespace with the unit's privileges. One JSON command per stdin
 * line, one JSON answer per stdout line.
 */
import { createInterface } from 'node:readline';
import { NetworkComponent } from '../../../src/environments/components/network.js';
import { layoutOf } from '../../../src/environments/layout.js';
import type { HarnessSpec as Spec } from './network-process.js';
import { parseSubnet } from '../../../src/network/subnet.js';
import { lookupUser } from '../../../src/system/passwd.js';
import { HostRoot } from '../../../src/system/host-root.js';
import { createLogger } from '../../../src/log.js';
import { DEFAULT_BRIDGE } from '../../../src/network/names.js';
import { NetworkService } from '../../../src/network/network-service.js';
import { NetworkTools } from '../../../src/network/tools.js';
import { DEFAULT_SETTINGS } from '../../../src/settings/settings-store.js';

const [runtimeDir = '', stateDir = '', subnet = '10.131.0.0/24'] = process.argv.slice(2);
const log = createLogger('info', process.stderr);
const service = new NetworkService({
  runtimeDir,
  bridge: DEFAULT_BRIDGE,
  tools: new NetworkTools(new HostRoot('/', 0)),
  settings: () => ({ ...DEFAULT_SETTINGS, networkSubnet: subnet }),
  log,
});
const component = new NetworkComponent({ network: service, taken: () => [], subnet: () => parseSubnet(subnet) });
const vmmUser = await lookupUser('nobody');

function context(spec: Spec) {
  const { network, ...rest } = spec;
  return {
    spec: rest,
    state: network ? { network } : {},
    layout: layoutOf(stateDir, runtimeDir, spec.id),
    vmmUser,
    vmmOpensFiles: false,
    log,
    journal: () => Promise.resolve(),
  };
}

type Command = { op: 'open' } | { op: 'prepare' | 'teardown' | 'recover'; spec: Spec } | { op: 'exit' };

await service.open();
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as Command;
  try {
    let result: unknown = null;
    if (command.op === 'open') await service.reconcile();
    else if (command.op === 'prepare') {
      // Answered as { network: { tap, mac } }: the NIC the component attaches to the VM.
      const nic = (await component.prepare(context(command.spec))).devices?.find((d) => d.kind === 'nic');
      result = nic ? { network: { tap: nic.tap, mac: nic.mac } } : {};
    } else if (command.op === 'teardown') await component.teardown(context(command.spec));
    else if (command.op === 'recover') await component.recover(context(command.spec));
    else {
      service.close();
      process.stdout.write(`${JSON.stringify({ ok: null })}\n`);
      break;
    }
    process.stdout.write(`${JSON.stringify({ ok: result })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
  }
}
process.exit(0);
