import type { Settings } from '#protocol';

export type Accel = 'kvm' | 'tcg';

/**
 * The accelerator QEMU runs new VMs with. The one decision both the launch (registry.ts) and the
 * readiness report (host/checks.ts) use, so the report describes what hearthd does: `auto` takes
 * KVM only where it boots standard guests (a /dev/kvm that opens is not enough: a paravirtual
 * KVM such as kvm_pvm opens, then crashes every standard kernel), and TCG otherwise.
 */
export function resolveAccel(setting: Settings['accel'], kvmBootsGuests: boolean): Accel {
  if (setting !== 'auto') return setting;
  return kvmBootsGuests ? 'kvm' : 'tcg';
}

/**
 * Whether `hypervisor: auto` takes Cloud Hypervisor when it is installed: only with KVM that boots
 * guests, since Cloud Hypervisor has no emulation to fall back on.
 */
export function autoTakesCloudHypervisor(kvmBootsGuests: boolean): boolean {
  return kvmBootsGuests;
}
