import type { HostReport, ReadinessCheck, Verdict } from '#protocol';
import { resolveAccel } from '../vmm/accelerator.js';
import { capacityOf, runChecks } from './checks.js';
import type { JudgedSettings } from './check-kit.js';
import { gatherFacts, type HostFacts } from './facts.js';
import type { HostRoot } from '../system/host-root.js';
import { kvmBootsGuests } from './kvm.js';
import { DEFAULT_SETTINGS } from '../settings/settings-store.js';

/**
 * @param emulated hearthd will run environments under TCG (the accelerator it resolves to): the
 *   first thing a degraded verdict says, since it slows everything else.
 */
export function verdictOf(
  checks: readonly ReadinessCheck[],
  environments: number,
  emulated = false,
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
  const how = emulated ? 'Works emulated (QEMU TCG), many times slower' : 'Works, with limitations';
  if (warned.length) return { verdict: 'degraded', reason: `${how} (${room}): ${warned.join(', ')}` };
  return { verdict: 'ready', reason: `Ready: ${room}` };
}

/** The report on measured facts, judged against the settings hearthd acts on. Pure. */
export function judgeFacts(facts: HostFacts, settings: JudgedSettings, stateDir: string, now = new Date()): HostReport {
  const checks = runChecks(facts, settings);
  const capacity = capacityOf(facts);
  const emulated = resolveAccel(settings.accel, kvmBootsGuests(facts)) === 'tcg';
  return {
    ...verdictOf(checks, capacity.environments, emulated),
    checkedAt: now.toISOString(),
    arch: facts.arch,
    kernel: facts.kernel,
    distro: facts.distro,
    capacity,
    disk: facts.disk ?? { path: stateDir, freeBytes: 0, totalBytes: 0 },
    checks,
  };
}

export type ReportSettings = JudgedSettings & { networkSubnet: string };

/** Measures the machine and judges it: the facts come back too, for decisions made from them. */
export async function probeHost(
  host: HostRoot,
  stateDir: string,
  settings: ReportSettings = DEFAULT_SETTINGS,
  now = new Date(),
): Promise<{ facts: HostFacts; report: HostReport }> {
  const facts = await gatherFacts(host, stateDir, settings.networkSubnet);
  return { facts, report: judgeFacts(facts, settings, stateDir, now) };
}

export async function buildHostReport(
  host: HostRoot,
  stateDir: string,
  settings: ReportSettings = DEFAULT_SETTINGS,
  now = new Date(),
): Promise<HostReport> {
  return (await probeHost(host, stateDir, settings, now)).report;
}
