import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Environment, EnvironmentState, SettingsPatch } from '#protocol';
import type { HearthdClient } from '#protocol/client';
import { HEARTHD_BUNDLE, type HearthdPaths } from './hearthd-process.js';
import { ensureTestGuest } from './test-guest.js';
import { eventually } from './eventually.js';

const run = promisify(execFile);

export const TEST_IMAGE = 'test-guest';

export interface InstallImageRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `hearthd install-image` (the bundle) into `stateDir`; never rejects. */
export async function runInstallImage(stateDir: string, args: string[]): Promise<InstallImageRun> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [HEARTHD_BUNDLE, 'install-image', '--state-dir', stateDir, ...args],
      {
        timeout: 120_000,
      },
    );
    return { exitCode: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    return {
      exitCode: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? String(error),
    };
  }
}

/**
 * Installs the test guest as an image of the hearthd that will use `paths`, the way an
 * administrator does: `hearthd install-image` (never through the API).
 */
export async function installTestImage(
  paths: HearthdPaths,
  /** Another name, or a ready marker the guest never prints (for a boot that must time out). */
  as: { name?: string; readyMarker?: string } = {},
): Promise<{ readyMarker: string }> {
  const guest = await ensureTestGuest();
  const readyMarker = as.readyMarker ?? guest.readyMarker;
  const result = await runInstallImage(paths.stateDir, [
    '--name',
    as.name ?? TEST_IMAGE,
    '--kernel',
    guest.kernel,
    '--initrd',
    guest.initrd,
    '--disk',
    guest.baseDisk,
    '--cmdline',
    guest.cmdline,
    '--ready-marker',
    readyMarker,
  ]);
  if (result.exitCode !== 0) throw new Error(`install-image exited ${result.exitCode}: ${result.stderr}`);
  return { readyMarker };
}

/** Polls until the environment is in one of `states`; fails with its last state and reason. */
export async function waitForState(
  client: HearthdClient,
  ref: string,
  states: EnvironmentState | EnvironmentState[],
  timeoutMs = 60_000,
): Promise<Environment> {
  const wanted = Array.isArray(states) ? states : [states];
  let last: Environment | undefined;
  return eventually(
    async () => {
      last = await client.call('getEnvironment', { params: { id: ref } });
      return wanted.includes(last.state) ? last : undefined;
    },
    {
      what: `${ref} to reach ${wanted.join('|')}`,
      timeoutMs,
      context: () => `it is ${last?.state ?? 'unknown'} (${last?.reason ?? 'no reason'})`,
    },
  );
}

export interface ProcessRow {
  pid: number;
  argv: string[];
}

/** Live (non-zombie) processes whose command line mentions `needle`. */
export async function processesMentioning(needle: string): Promise<ProcessRow[]> {
  const rows: ProcessRow[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (state === 'Z') continue;
      const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').filter(Boolean);
      if (argv.some((a) => a.includes(needle))) rows.push({ pid: Number(entry), argv });
    } catch {
      // Gone meanwhile.
    }
  }
  return rows;
}

/** Test cleanup: VMMs outlive hearthd by design, so tests kill what they started. */
export async function killVmms(paths: HearthdPaths): Promise<void> {
  // Drivers name a file of the environment's state directory on every VMM's command line.
  for (const row of await processesMentioning(`${paths.stateDir}/environments/`)) {
    try {
      process.kill(row.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** uid of a process, from /proc/<pid>/status. */
export async function processUid(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
}

/** The class most tests boot: the test guest needs little, so the memory floor is lowered for it. */
export const TINY_CLASS = { cpus: 1, memoryMiB: 128, diskGiB: 2 } as const;

/** Lowers `minimumMemoryMiB` (plus any other `settings`) and adds the `tiny` class. */
export async function addTinyClass(client: HearthdClient, settings: SettingsPatch = {}): Promise<void> {
  await client.call('updateConfig', { body: { minimumMemoryMiB: 64, ...settings } });
  await client.call('putClass', { params: { name: 'tiny' }, body: TINY_CLASS });
}
