import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { HostReport, type CheckId, type HearthEvent, type ReadinessCheck, type Settings } from '#protocol';
import { HostRoot } from '../src/system/host-root.js';
import { buildHostReport } from '../src/readiness/report.js';
import { DEFAULT_SETTINGS } from '../src/settings/settings-store.js';
import { canMakeDevices, materialize, type FixtureHost } from './fixtures/fixture-host.js';
import {
  archWithoutKvm,
  debianCloudWithoutKvm,
  fedoraAmd,
  opensuseSmallMemory,
  tamperedQemu,
  ubuntuWorkstation,
} from './fixtures/hosts.js';
import { HearthdProcess, makePaths } from './support/hearthd-process.js';
import { assertMatches } from './support/schema.js';
import { skipWhen } from './support/skip.js';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function reportFor(host: FixtureHost, accel: Settings['accel'] = 'auto'): Promise<HostReport> {
  const root = await materialize(host);
  roots.push(root);
  const report = await buildHostReport(new HostRoot(root), tmpdir(), { ...DEFAULT_SETTINGS, accel });
  assertMatches(HostReport, report);
  return report;
}

function check(report: HostReport, id: CheckId): ReadinessCheck {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no ${id} check in the report`);
  return found;
}

const statuses = (report: HostReport) => Object.fromEntries(report.checks.map((c) => [c.id, c.status]));

describe(
  'readiness of fixture machines',
  skipWhen(canMakeDevices ? undefined : "needs root to make the fixture machines' device nodes"),
  () => {
    it('finds nothing to fix on a fully set-up Ubuntu workstation', async () => {
      const report = await reportFor(ubuntuWorkstation);
      const { disk, ...rest } = statuses(report);
      expect(
        Object.values(rest).every((s) => s === 'pass'),
        JSON.stringify(rest),
      ).toBe(true);
      expect(report.distro).toMatchObject({ id: 'ubuntu', version: '24.04', packageManager: 'apt' });
      expect(report.capacity.environments).toBe(10);
      expect(report.verdict).toBe(disk === 'pass' ? 'ready' : disk === 'warn' ? 'degraded' : 'not-ready');
      expect(check(report, 'cloud-hypervisor').detail).toContain('53.0.0');
      expect(check(report, 'kvm-kind').detail).toBe('Hardware KVM');
      expect(check(report, 'kernel-modules').detail).toContain('kvm_intel');
    });

    it('gives dnf commands on Fedora and tells which modules to load', async () => {
      const report = await reportFor(fedoraAmd);
      expect(report.distro.packageManager).toBe('dnf');
      expect(report.verdict).toBe('not-ready');
      expect(check(report, 'qemu-img')).toMatchObject({
        status: 'fail',
        remedy: { command: 'sudo dnf install -y qemu-img' },
      });
      expect(check(report, 'dnsmasq')).toMatchObject({
        status: 'fail',
        remedy: { command: 'sudo dnf install -y dnsmasq' },
      });
      const modules = check(report, 'kernel-modules');
      expect(modules.status).toBe('warn');
      expect(modules.detail).toContain('not loaded: kvm_amd, br_netfilter');
      expect(modules.remedy?.command).toMatch(/^sudo modprobe -a kvm_amd br_netfilter && /);
      expect(check(report, 'cpu-virtualization').detail).toContain('AMD-V');
      expect(check(report, 'cloud-hypervisor').status).toBe('warn');
      // Nothing to fix: hearthd turns forwarding on itself, for hearth0 only, while guests run.
      expect(check(report, 'ip-forwarding')).toMatchObject({
        status: 'pass',
        detail: expect.stringContaining('hearth0'),
      });
      expect(check(report, 'ip-forwarding').remedy).toBeUndefined();
      expect(check(report, 'vhost-net-device').status).toBe('warn');
      expect(report.reason).toContain('qemu-img');
      expect(report.reason).toContain('dnsmasq');
    });

    it('explains a machine without KVM and without any VMM, with pacman commands', async () => {
      const report = await reportFor(archWithoutKvm);
      expect(report.distro.packageManager).toBe('pacman');
      // Not ready for want of a VMM; the missing KVM alone would only make it slow (accelerator auto).
      expect(report.verdict).toBe('not-ready');
      expect(report.reason).toBe('1 problem to fix first: QEMU (fallback VMM)');
      expect(check(report, 'cpu-virtualization')).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining('VM without nested virtualization'),
      });
      const kvm = check(report, 'kvm-device');
      expect(kvm.status).toBe('warn');
      expect(kvm.remedy?.command).toContain('sudo modprobe -a kvm kvm_intel');
      expect(check(report, 'kvm-access').status).toBe('warn');
      expect(check(report, 'kvm-kind').detail).toContain('emulated (QEMU TCG)');
      expect(check(report, 'qemu')).toMatchObject({
        status: 'fail',
        remedy: { command: 'sudo pacman -S --needed qemu-base' },
      });
      // Without KVM Cloud Hypervisor could not run: nothing to install there.
      expect(check(report, 'cloud-hypervisor')).toMatchObject({
        status: 'pass',
        detail: expect.stringContaining('QEMU'),
      });
      expect(check(report, 'kernel-modules').detail).toContain('not loaded: kvm, kvm_intel');
    });

    it('calls a machine without /dev/kvm degraded, emulated, and says nothing of a KVM it lacks', async () => {
      const report = await reportFor(debianCloudWithoutKvm);
      expect(report.distro.packageManager).toBe('apt');
      expect(report.verdict).toBe('degraded');
      expect(report.reason).toMatch(/^Works emulated \(QEMU TCG\), many times slower \(room for 9 environments\): /);
      const kvmChecks = report.checks.filter((c) => c.category === 'kvm');
      expect(kvmChecks.every((c) => c.status === 'warn')).toBe(true);
      expect(kvmChecks.map((c) => c.detail).join(' ')).not.toMatch(/paravirtual|kvm_pvm/i);
      expect(check(report, 'kvm-kind')).toMatchObject({
        detail: 'No KVM (/dev/kvm does not exist): environments run emulated (QEMU TCG), many times slower',
        remedy: { summary: expect.stringContaining('Enable nested virtualization') },
      });
      const modules = check(report, 'kernel-modules');
      expect(modules.detail).not.toMatch(/ready: [^;]*kvm/);
      expect(modules.detail).toContain('no KVM that boots standard guests: kvm');
    });

    it('fails the same machine when the accelerator is pinned to kvm', async () => {
      const report = await reportFor(debianCloudWithoutKvm, 'kvm');
      expect(report.verdict).toBe('not-ready');
      expect(check(report, 'kvm-kind')).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('pinned to kvm'),
      });
      expect((await reportFor(debianCloudWithoutKvm, 'tcg')).verdict).toBe('degraded');
    });

    it('counts how many environments fit in 4 GiB and gives zypper commands', async () => {
      const report = await reportFor(opensuseSmallMemory);
      expect(report.distro.packageManager).toBe('zypper');
      expect(report.capacity.environments).toBe(1);
      expect(check(report, 'memory')).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining('room for 1 environment of 2 GiB'),
      });
      expect(check(report, 'ip-tool')).toMatchObject({
        status: 'fail',
        remedy: { command: 'sudo zypper install -y iproute2' },
      });
    });

    it('refuses to run a VMM binary that others could have replaced', async () => {
      const report = await reportFor(tamperedQemu);
      const qemu = check(report, 'qemu');
      expect(qemu.status).toBe('warn'); // Cloud Hypervisor is there, so QEMU is only the fallback
      expect(qemu.detail).toContain('/usr/local/bin/qemu-system-x86_64');
      expect(qemu.detail).toContain('will not run it');
    });

    it('serves a fixture machine through the real daemon with --host-root', async () => {
      const root = await materialize(fedoraAmd);
      roots.push(root);
      const daemon = await HearthdProcess.start(await makePaths(), ['--host-root', root]);
      try {
        const client = daemon.client();
        const report = await client.call('getHost');
        const version = await client.call('getVersion');
        await client.close();
        expect(report.distro.id).toBe('fedora');
        expect(check(report, 'qemu-img').remedy?.command).toBe('sudo dnf install -y qemu-img');
        expect(version.vmms).toEqual([{ kind: 'qemu', path: '/usr/bin/qemu-system-x86_64', version: '8.2.2' }]);
      } finally {
        await daemon.dispose();
      }
    });

    it('follows the accelerator setting through the real daemon: auto is degraded, kvm not-ready', async () => {
      const root = await materialize(debianCloudWithoutKvm);
      roots.push(root);
      const daemon = await HearthdProcess.start(await makePaths(), ['--host-root', root]);
      try {
        const client = daemon.client();
        expect((await client.call('getHost')).verdict).toBe('degraded');
        const controller = new AbortController();
        const stream = client.events(controller.signal);
        await stream.next(); // hello: subscribed before the change
        await client.call('updateConfig', { body: { accel: 'kvm' } });
        let changed: HearthEvent | undefined;
        for await (const event of stream) {
          if (event.type === 'readiness') {
            changed = event;
            break;
          }
        }
        controller.abort();
        expect(changed).toMatchObject({ verdict: 'not-ready', previous: 'degraded' });
        expect(check(await client.call('getHost'), 'kvm-kind').status).toBe('fail');
        await client.close();
      } finally {
        await daemon.dispose();
      }
    });
  },
);
