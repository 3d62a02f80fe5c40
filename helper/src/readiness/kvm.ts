import type { Remedy } from '#protocol';
import { resolveAccel } from '../vmm/accelerator.js';
import { fail, pass, warn, type Check, type JudgedSettings, type Outcome } from './check-kit.js';
import type { HostFacts, KernelModule, ModuleState } from './facts.js';
import { modprobeRemedy } from './remedies.js';

/**
 * KVM as hearthd uses it: one finding (does KVM boot standard guests here, and if not, why) from
 * which every KVM check, the kernel-modules check and the accelerator `auto` resolves to follow,
 * so none of them can tell a different story.
 */

type KvmFacts = Pick<HostFacts, 'cpu' | 'kvm' | 'modules'>;

export interface KvmProblem {
  kind: 'absent' | 'not-char-device' | 'unopenable' | 'paravirtual' | 'no-virt-flag';
  /** What was measured, as a sentence fragment. */
  detail: string;
  /** What makes KVM usable. */
  fix: Remedy;
}

const loadedOrBuiltin = (state: ModuleState) => state === 'loaded' || state === 'builtin';
export const hasVirtFlag = (f: KvmFacts) => f.cpu?.flags.has('vmx') === true || f.cpu?.flags.has('svm') === true;
/** A paravirtual KVM is only one when there is a KVM at all: a loaded module without /dev/kvm is none. */
export const isPvm = (f: KvmFacts) => f.kvm.present && loadedOrBuiltin(f.modules.kvm_pvm);
export const vendorModule = (f: KvmFacts): KernelModule => (f.cpu?.vendor === 'amd' ? 'kvm_amd' : 'kvm_intel');
export const firmwareSetting = (f: KvmFacts) => (f.cpu?.vendor === 'amd' ? 'AMD-V (SVM)' : 'Intel VT-x');
const inVm = (f: KvmFacts) => f.cpu?.flags.has('hypervisor') === true;

/** The KVM modules this machine's KVM is made of (kvm_pvm stands in for the vendor module). */
export const kvmModules = (f: KvmFacts): KernelModule[] => ['kvm', isPvm(f) ? 'kvm_pvm' : vendorModule(f)];

const enableVirtualization = (f: KvmFacts): string =>
  inVm(f)
    ? `Enable nested virtualization for this VM on its host (${firmwareSetting(f)} passthrough)`
    : `Enable ${firmwareSetting(f)} in the firmware (BIOS/UEFI) setup`;

/** Why KVM cannot boot standard guests here; undefined when it can. */
export function kvmProblem(f: KvmFacts): KvmProblem | undefined {
  if (!f.kvm.present) {
    return {
      kind: 'absent',
      detail: '/dev/kvm does not exist',
      fix: {
        ...modprobeRemedy(['kvm', vendorModule(f)], 'The KVM modules are not loaded.'),
        summary: `${enableVirtualization(f)}, then load the KVM modules now and at every boot.`,
      },
    };
  }
  if (!f.kvm.charDevice)
    return {
      kind: 'not-char-device',
      detail: '/dev/kvm exists but is not a character device',
      fix: { summary: 'Something replaced the device node; remove /dev/kvm and reboot so the kernel recreates it.' },
    };
  if (f.kvm.open !== 'ok')
    return {
      kind: 'unopenable',
      detail: `opening /dev/kvm read-write failed with ${f.kvm.open ?? 'an unknown error'}`,
      fix: {
        summary:
          'hearthd must be able to open /dev/kvm; run it as root (the installed service does) or add its user to the kvm group.',
        command: 'sudo usermod -aG kvm "$USER"',
      },
    };
  if (isPvm(f))
    return {
      kind: 'paravirtual',
      detail:
        'Paravirtual KVM (kvm_pvm): standard guest kernels stop with "KVM internal error … emulation failure" under it',
      fix: { summary: 'For full speed, run Hearth on bare metal or in a VM with nested VT-x/AMD-V.' },
    };
  if (!hasVirtFlag(f))
    return {
      kind: 'no-virt-flag',
      detail: 'No hardware virtualization (no vmx/svm flag) to boot guests with',
      fix: { summary: `${enableVirtualization(f)} and restart.` },
    };
  return undefined;
}

export const kvmBootsGuests = (f: KvmFacts): boolean => kvmProblem(f) === undefined;

const EMULATED = 'environments run emulated (QEMU TCG), many times slower';

/**
 * How much a missing piece of KVM matters: a failure only when the accelerator is pinned to kvm
 * (nothing can start); otherwise hearthd runs the environments under TCG, so it is a warning.
 */
export const kvmSeverity = (s: JudgedSettings) => (s.accel === 'kvm' ? fail : warn);

export const KVM_CHECKS: readonly Check[] = [
  {
    id: 'cpu-virtualization',
    title: 'CPU virtualization extensions',
    category: 'kvm',
    judge: (f, s) => {
      if (f.cpu === undefined) return warn('/proc/cpuinfo could not be read');
      if (hasVirtFlag(f)) return pass(f.cpu.flags.has('vmx') ? 'Intel VT-x (vmx)' : 'AMD-V (svm)');
      if (isPvm(f)) return kvmSeverity(s)('No vmx/svm flag; /dev/kvm here is the paravirtual kvm_pvm module instead');
      return kvmSeverity(s)(
        inVm(f) ? 'No vmx/svm flag: this machine is itself a VM without nested virtualization' : 'No vmx/svm flag',
        { summary: `${enableVirtualization(f)} and restart.` },
      );
    },
  },
  {
    id: 'kvm-device',
    title: '/dev/kvm',
    category: 'kvm',
    judge: (f, s) => {
      const problem = kvmProblem(f);
      if (problem?.kind === 'absent' || problem?.kind === 'not-char-device')
        return kvmSeverity(s)(problem.detail, problem.fix);
      return pass('Character device present');
    },
  },
  {
    id: 'kvm-access',
    title: '/dev/kvm opens read-write',
    category: 'kvm',
    judge: (f, s) => {
      if (f.kvm.open === undefined) return kvmSeverity(s)('Not checked: there is no /dev/kvm to open');
      if (f.kvm.open === 'ok') return pass('Opened read-write');
      return kvmSeverity(s)(`Opening /dev/kvm read-write failed with ${f.kvm.open}`, kvmProblem(f)?.fix);
    },
  },
  {
    id: 'kvm-kind',
    title: 'KVM can boot standard guests',
    category: 'kvm',
    judge: (f, s) => judgeKvmKind(f, s),
  },
];

/** The conclusion the other KVM checks lead to: which accelerator hearthd runs, and why. */
function judgeKvmKind(f: HostFacts, s: JudgedSettings): Outcome {
  const problem = kvmProblem(f);
  const accel = resolveAccel(s.accel, problem === undefined);
  if (problem === undefined) {
    const kind = inVm(f) ? 'Nested KVM inside a VM (works, somewhat slower)' : 'Hardware KVM';
    // KVM itself is fine (the app reads this check as "KVM usable"); pinning tcg is a choice.
    return pass(accel === 'kvm' ? kind : `${kind}, unused: the accelerator is set to tcg, so ${EMULATED}`);
  }
  if (accel === 'kvm')
    return fail(`No KVM that boots standard guests (${problem.detail}), and the accelerator is pinned to kvm`, {
      ...problem.fix,
      summary: `${problem.fix.summary} Or set the accelerator to auto in Settings: ${EMULATED}.`,
    });
  const why = problem.kind === 'paravirtual' ? problem.detail : `No KVM (${problem.detail})`;
  return warn(`${why}: ${EMULATED}`, problem.fix);
}
