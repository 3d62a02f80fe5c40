import { chmod, mkdir, readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * QEMU, as the VMM user, opens its TAP through /dev/net/tun: udev makes that device 0666 on every
 * major distribution, but some containers (these CI machines) leave it 0600. A test that boots
 * networked guests on the host gives it the distributions' mode while it runs and puts the
 * machine's own mode back when the last such test is done, so no test finds a mode another left.
 *
 * Several test processes may need it at once (vitest runs files in parallel; bench:devenv):
 * each holds a file named by its pid in HOLDERS (a dead holder's file does not count), and only the last to leave restores the mode
 * recorded by the first. A directory made with mkdir (atomic) serialises the bookkeeping.
 */

/** The device and where its holders are kept; tests of this module point them at scratch files. */
export interface TunPlaces {
  device: string;
  state: string;
}
const MACHINE: TunPlaces = { device: '/dev/net/tun', state: '/run/hearth-test-tun' };

async function locked<T>(lock: string, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A holder that died inside the lock leaves it behind: take it over after a while.
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  try {
    return await work();
  } finally {
    await rmdir(lock).catch(() => undefined);
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Makes /dev/net/tun 0666 as udev does; the returned function gives the machine its mode back. */
export async function useTunLikeDistributions(places: TunPlaces = MACHINE): Promise<() => Promise<void>> {
  const { device: TUN, state: STATE } = places;
  const HOLDERS = join(STATE, 'holders');
  const ORIGINAL = join(STATE, 'original-mode');
  const LOCK = `${STATE}.lock`;
  // One file per use: a process may hold it more than once (vitest runs several files in one worker).
  const holder = join(HOLDERS, `${process.pid}-${randomBytes(4).toString('hex')}`);
  await locked(LOCK, async () => {
    await mkdir(HOLDERS, { recursive: true, mode: 0o700 });
    const mode = (await stat(TUN)).mode & 0o7777;
    const recorded = await readFile(ORIGINAL, 'utf8').catch(() => undefined);
    if (recorded === undefined) await writeFile(ORIGINAL, mode.toString(8));
    await writeFile(holder, '');
    if ((mode & 0o006) !== 0o006) {
      process.stdout.write(`tests: ${TUN} is 0${mode.toString(8)}; 0666 (as udev makes it) while tests use it\n`);
      await chmod(TUN, 0o666);
    }
  });
  return () =>
    locked(LOCK, async () => {
      await rm(holder, { force: true });
      const others = (await readdir(HOLDERS).catch(() => [])).filter((name) => alive(Number(name.split('-')[0])));
      if (others.length > 0) return;
      const original = await readFile(ORIGINAL, 'utf8').catch(() => undefined);
      if (original !== undefined) await chmod(TUN, parseInt(original, 8));
      await rm(STATE, { recursive: true, force: true });
    });
}
