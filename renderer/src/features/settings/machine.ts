import type { HostReport, VersionInfo } from '#protocol';

export type HypervisorChoice = 'auto' | 'cloud-hypervisor' | 'qemu';
export type AccelChoice = 'auto' | 'kvm' | 'tcg';

export interface Choice<V extends string> {
  value: V;
  label: string;
  /** What picking it means here, from what hearthd found on this machine. */
  meaning: string;
  /** Picking it would make environments fail to start here. */
  unavailable: boolean;
}

const KVM_CHECKS = ['kvm-device', 'kvm-access', 'kvm-kind'];

/** KVM is usable when each of hearthd's KVM checks passed; its detail says why not otherwise. */
export function kvmOnThisMachine(host: HostReport | null): { usable: boolean | undefined; detail: string } {
  if (!host) return { usable: undefined, detail: 'unknown until the helper reports on this machine' };
  const checks = host.checks.filter((c) => KVM_CHECKS.includes(c.id));
  const failing = checks.find((c) => c.status !== 'pass');
  if (checks.length === 0) return { usable: undefined, detail: 'hearthd did not report on KVM' };
  return failing ? { usable: false, detail: failing.detail } : { usable: true, detail: checks.at(-1)!.detail };
}

export function hypervisorChoices(version: VersionInfo | null, host: HostReport | null): Choice<HypervisorChoice>[] {
  const found = (kind: 'cloud-hypervisor' | 'qemu') => version?.vmms.find((v) => v.kind === kind);
  const ch = found('cloud-hypervisor');
  const qemu = found('qemu');
  const kvm = kvmOnThisMachine(host);
  const known = version !== null;
  const describe = (vmm: typeof ch, missing: string) =>
    vmm ? `Found: ${vmm.version} at ${vmm.path}.` : known ? missing : 'not known yet';
  return [
    {
      value: 'auto',
      label: 'Automatic',
      meaning: `Cloud Hypervisor when it is installed and KVM works, else QEMU. Here: ${
        ch && kvm.usable === true
          ? 'Cloud Hypervisor'
          : qemu
            ? 'QEMU'
            : known
              ? 'nothing (no VMM found)'
              : 'not known yet'
      }.`,
      unavailable: known && !ch && !qemu,
    },
    {
      value: 'cloud-hypervisor',
      label: 'Cloud Hypervisor',
      meaning: `Fast, small, needs KVM. ${describe(ch, 'Not installed on this machine.')}${
        ch && kvm.usable === false ? ` KVM is not usable: ${kvm.detail}` : ''
      }`,
      unavailable: known && (!ch || kvm.usable === false),
    },
    {
      value: 'qemu',
      label: 'QEMU',
      meaning: `Runs with KVM or, without it, emulated (TCG, much slower). ${describe(qemu, 'Not installed on this machine.')}`,
      unavailable: known && !qemu,
    },
  ];
}

export function accelChoices(host: HostReport | null): Choice<AccelChoice>[] {
  const kvm = kvmOnThisMachine(host);
  const here =
    kvm.usable === true
      ? 'KVM works here'
      : kvm.usable === false
        ? `KVM does not work here: ${kvm.detail}`
        : kvm.detail;
  return [
    {
      value: 'auto',
      label: 'Automatic',
      meaning: `KVM when it is usable, else TCG. ${kvm.usable === true ? 'Here: KVM.' : kvm.usable === false ? 'Here: TCG.' : ''}`,
      unavailable: false,
    },
    {
      value: 'kvm',
      label: 'KVM',
      meaning: `Hardware virtualization: near-native speed. ${here}.`,
      unavailable: kvm.usable === false,
    },
    {
      value: 'tcg',
      label: 'TCG (emulation)',
      meaning: 'Works everywhere, no KVM needed, but guests run many times slower. QEMU only.',
      unavailable: false,
    },
  ];
}
