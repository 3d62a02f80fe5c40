import { chmod, stat } from 'node:fs/promises';

/**
 * QEMU, as the VMM user, opens its TAP through /dev/net/tun: udev makes that device 0666 on every
 * major distribution, but some containers (these CI machines) leave it 0600. Tests that boot
 * networked guests give it the distributions' mode, as the readiness check's remedy says.
 */
export async function ensureTunLikeDistributions(): Promise<void> {
  const { mode } = await stat('/dev/net/tun');
  if ((mode & 0o006) !== 0o006) {
    process.stdout.write('tests: /dev/net/tun was not world-usable; made it 0666 as udev does\n');
    await chmod('/dev/net/tun', 0o666);
  }
}
