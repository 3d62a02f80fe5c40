import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTestImage, killVmms, waitForState, addTinyClass } from './support/environments.js';
import { HearthdProcess, makePaths } from './support/hearthd-process.js';

/**
 * `accel: auto` follows the readiness report: KVM only where it boots standard guests. On the
 * CI machines /dev/kvm is paravirtual (kvm_pvm) or absent, so auto must pick TCG, the guest must
 * come up (under kvm_pvm it would crash), and the report must say so: emulated, a warning.
 */
const cpuFlags = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(/\s+/) ?? [];
const kvmBootsGuests =
  existsSync('/dev/kvm') &&
  !existsSync('/sys/module/kvm_pvm') &&
  process.getuid?.() === 0 &&
  (cpuFlags.includes('vmx') || cpuFlags.includes('svm'));

describe('accel auto', () => {
  let daemon: HearthdProcess;
  beforeAll(async () => {
    const paths = await makePaths('hearthd-accel-');
    await installTestImage(paths);
    daemon = await HearthdProcess.start(paths, ['--hypervisor', 'qemu']);
    const client = daemon.client();
    await addTinyClass(client);
    await client.close();
  }, 180_000);
  afterAll(async () => {
    await killVmms(daemon.paths);
    await daemon.dispose();
  });

  it(`picks ${kvmBootsGuests ? 'KVM' : 'TCG'} on this machine, and the guest boots`, async () => {
    const client = daemon.client();
    expect((await client.call('getConfig')).settings.accel).toBe('auto');
    const created = await client.call('createEnvironment', { body: { name: 'auto-accel', class: 'tiny' } });
    const running = await waitForState(client, created.id, 'running');
    const argv = readFileSync(`/proc/${running.vmm!.pid}/cmdline`, 'utf8').split('\0');
    expect(argv[argv.indexOf('-accel') + 1]).toBe(kvmBootsGuests ? 'kvm' : 'tcg');
    // The report tells the same story the launch acted on.
    const kind = (await client.call('getHost')).checks.find((c) => c.id === 'kvm-kind')!;
    expect(kind.status).toBe(kvmBootsGuests ? 'pass' : 'warn');
    if (!kvmBootsGuests) expect(kind.detail).toContain('emulated (QEMU TCG)');
    await client.call('deleteEnvironment', { params: { id: created.id } });
    await client.close();
  }, 120_000);
});
