import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';

/**
 * Where the deb and rpm packages put the app's install script (electron-builder installs the app
 * under /opt/Hearth; the maintainer scripts run the same file). Fixed here on purpose: the
 * script runs as root, so its path never comes from the caller's environment or arguments.
 */
export const INSTALL_SCRIPT_PATHS: readonly string[] = ['/opt/Hearth/resources/hearth-helper/hearth-install.sh'];

/**
 * The real path of a file root may run, or null: it and every directory above it (after
 * resolving links) belong to root and nobody else may write them, so no user can swap what sudo
 * will execute. The real path is what runs: a link on the way, even in a root-owned directory,
 * is not looked up again.
 */
export async function trustedForRoot(path: string): Promise<string | null> {
  const fs = await import('node:fs/promises');
  const { posix } = await import('node:path');
  let real: string;
  try {
    real = await fs.realpath(path);
  } catch {
    return null;
  }
  for (let at = real; ; at = posix.dirname(at)) {
    const s = await fs.stat(at);
    if (s.uid !== 0 || (s.mode & 0o022) !== 0) return null;
    if (at === posix.dirname(at)) return real;
  }
}

/** The first installed, root-owned install script (its real path), or null: not installed, or an AppImage. */
export async function findInstallScript(candidates: readonly string[] = INSTALL_SCRIPT_PATHS): Promise<string | null> {
  for (const path of candidates) {
    const real = await trustedForRoot(path);
    if (real !== null) return real;
  }
  return null;
}

/**
 * `hearth images build`: the local Debian image, built the way the app builds it — the install
 * script's `build-image` action as root (debootstrap needs chroot, mount and mknod, which
 * hearthd's unit forbids). A person at a terminal is asked for their password by sudo there;
 * anywhere else the exact command is printed, for a person to run, and the exit code is 1.
 */
export async function buildImage(context: CliContext): Promise<ExitCode> {
  const { terminal } = context;
  const script = await findInstallScript();
  if (script === null)
    throw new CliError(
      `Hearth's install script is not installed where the packages put it (${INSTALL_SCRIPT_PATHS.join(', ')}), owned by root`,
      ExitCode.failed,
      'install the deb or rpm package; with the AppImage, build the image from the app (Images → Build the Debian image)',
    );
  const root = process.getuid?.() === 0;
  const argv = [...(root ? [] : ['/usr/bin/sudo']), '/bin/bash', script, 'build-image'];
  const interactive = process.stdin.isTTY && terminal.stderrTty;
  if (!interactive) {
    terminal.say('hearth: building the image needs root; run this in a terminal:');
    terminal.out(argv.join(' '));
    return ExitCode.failed;
  }
  terminal.say(`Building the local Debian image (a few minutes): ${argv.join(' ')}`);
  const { spawn } = await import('node:child_process');
  const [program = '/bin/bash', ...args] = argv;
  const code = await new Promise<number | null>((resolve, reject) => {
    // The terminal is the child's: sudo asks for the password there and the steps print there.
    const child = spawn(program, args, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('close', (exit) => resolve(exit));
  });
  if (context.signal.aborted) return ExitCode.interrupted;
  if (code === 0) {
    terminal.say(`${terminal.colors.green('✓')} the image is installed (hearth images)`);
    return ExitCode.ok;
  }
  terminal.say(`${terminal.colors.red('✗')} the build failed (exit ${code ?? 'by a signal'}): its steps are above`);
  return ExitCode.failed;
}
