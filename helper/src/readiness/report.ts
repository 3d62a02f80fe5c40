import type { HostReport, ReadinessCheck, Verdict } from '#protocol';
import { capacityOf, runChecks } from './checks.js';
import { gatherFacts } from './facts.js';
import type { HostRoot } from '../system/host-root.js';
import { DEFAULT_SETTINGS } from '../settings/settings-store.js';

export function verdictOf(
  checks: readonly ReadinessCheck[],
  environments: number,
): { verdict: Verdict; reason: string } {
  const titles = (status: ReadinessCheck['status']) => checks.filter((c) => c.status === status).map((c) => c.title);
  const failed = titles('fail');
  if (failed.length) {
    return {
      verdict: 'not-ready',
      reason: `${failed.length} problem${failed.length === 1 ? '' : 's'} to fix first: ${failed.join(', ')}`,
    };
  }
  const warned = titles('warn');
  const room = `room for ${environments} environment${environments === 1 ? '' : 's'}`;
  if (warned.length) return { verdict: 'degraded', reason: `Works, with limitations (${room}): ${warned.join(', ')}` };
  return { verdict: 'ready', reason: `Ready: ${room}` };
}

export async function buildHostReport(
  host: HostRoot,
  stateDir: string,
  now = new Date(),
  subnet = DEFAULT_SETTINGS.networkSubnet,
): Promise<HostReport> {
  const facts = await gatherFacts(host, stateDir, subnet);
  const checks = runChecks(facts);
  const capacity = capacityOf(facts);
  return {
    ...verdictOf(checks, capacity.environments),
    checkedAt: now.toISOString(),
    arch: facts.arch,
    kernel: facts.kernel,
    distro: facts.distro,
    capacity,
    disk: facts.disk ?? { path: stateDir, freeBytes: 0, totalBytes: 0 },
    checks,
  };
}
