import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostReport, type CheckId } from '#protocol';
import { SYSTEM_BIN_DIRS } from '../src/system/executables.js';
import { HearthdProcess } from './support/hearthd-process.js';
import { assertMatches } from './support/schema.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';

/**
 * The report hearthd gives about the machine running the tests, compared with what the test
 * observes itself. On the CI machines this means: /dev/kvm opens, no vmx/svm flag (KVM comes
 * from kvm_pvm and cannot boot standard kernels), no Cloud Hypervisor.
 */
const cpuFlags = new Set(/^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(/\s+/) ?? []);
const hasVirtFlag = cpuFlags.has('vmx') || cpuFlags.has('svm');
const isPvm = existsSync('/dev/kvm') && existsSync('/sys/module/kvm_pvm');
const installed = (bin: string) => SYSTEM_BIN_DIRS.some((dir) => existsSync(`${dir}/${bin}`));

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('readiness of this machine', () => {
  let daemon: HearthdProcess;
  let report: HostReport;
  const check = (id: CheckId) => report.checks.find((c) => c.id === id)!;

  beforeAll(async () => {
    daemon = await HearthdProcess.start();
    const client = daemon.client();
    report = await client.call('getHost');
    await client.close();
  });
  afterAll(async () => {
    await daemon.dispose();
  });

  it('is valid against the schema and has every check', () => {
    assertMatches(HostReport, report);
    expect(report.checks).toHaveLength(20);
    expect(report.arch).toBe('x86_64');
  });

  // Its settings are the defaults (accelerator auto): without usable KVM it runs environments
  // emulated, so nothing about KVM can be a failure here, only a warning.
  it('reports the virtualization flags it sees', () => {
    expect(check('cpu-virtualization').status).toBe(hasVirtFlag ? 'pass' : 'warn');
    expect(report.checks.filter((c) => c.category === 'kvm' && c.status === 'fail')).toEqual([]);
  });

  it(
    'warns that this paravirtual KVM cannot boot standard guests, so it emulates',
    skipWhen(isPvm ? undefined : 'this host has no paravirtual KVM (kvm_pvm) to warn about'),
    () => {
      expect(check('kvm-kind')).toMatchObject({ status: 'warn', detail: expect.stringContaining('kvm_pvm') });
      expect(check('kvm-kind').detail).toContain('emulated (QEMU TCG)');
    },
  );

  it(
    'warns that there is no KVM, so it emulates, and names no paravirtual KVM',
    skipWhen(existsSync('/dev/kvm') ? 'this host has /dev/kvm' : undefined),
    () => {
      expect(check('kvm-kind')).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining('emulated (QEMU TCG)'),
      });
      expect(check('kvm-kind').detail).not.toContain('kvm_pvm');
      expect(check('kernel-modules').detail).not.toMatch(/ready: [^;]*kvm/);
    },
  );

  it('opens /dev/kvm read-write', skipWhen(existsSync('/dev/kvm') ? NEEDS_ROOT : 'this host has no /dev/kvm'), () => {
    expect(check('kvm-device').status).toBe('pass');
    expect(check('kvm-access').status).toBe('pass');
  });

  it('reports the VMMs that are installed, and only those', () => {
    const ch = installed('cloud-hypervisor');
    const qemu = installed('qemu-system-x86_64');
    // Without a KVM that boots guests Cloud Hypervisor cannot run, so it is not asked for.
    const kvmWorks = check('kvm-kind').status === 'pass';
    expect(check('cloud-hypervisor').status === 'pass').toBe(ch || !kvmWorks);
    expect(check('qemu').status === 'pass').toBe(qemu);
    if (!kvmWorks) expect(check('cloud-hypervisor').detail).toMatch(/^(Not needed here|.*unused here)/);
    else if (!ch) {
      expect(check('cloud-hypervisor').remedy?.command).toContain('hearthd.mjs install-cloud-hypervisor');
      expect(report.verdict).not.toBe('ready');
    }
  });

  // What the reason names depends on the machine (a fresh one also lacks nftables and dnsmasq,
  // which then outrank the missing Cloud Hypervisor): derive it from the checks measured.
  it('gives a verdict and a reason that follow from its checks', () => {
    const worst = report.checks.some((c) => c.status === 'fail')
      ? 'fail'
      : report.checks.some((c) => c.status === 'warn')
        ? 'warn'
        : 'pass';
    expect(report.verdict).toBe({ fail: 'not-ready', warn: 'degraded', pass: 'ready' }[worst]);
    const named = report.checks.filter((c) => c.status === worst && worst !== 'pass').map((c) => c.title);
    // Exactly these, in the report's order: the worst kind of finding, and nothing else.
    if (named.length) expect(report.reason).toMatch(new RegExp(`: ${escape(named.join(', '))}$`));
    else expect(report.reason).toMatch(/^Ready/);
  });
});
