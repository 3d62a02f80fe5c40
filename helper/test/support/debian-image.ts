import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { HEARTHD_BUNDLE } from './hearthd-process.js';

/**
 * The local Debian image (hearthd build-image) for tests: built once per machine and cached
 * outside the clone, so fresh clones (CI) only import it. The build runs the way it is deployed:
 * the bundled hearthd, as root, outside hearthd's sandbox (the installer runs it so), never
 * through HearthdProcess. HEARTH_TEST_CACHE moves the cache root, as for the nspawn tree.
 */
export const DEBIAN_IMAGE_CACHE = join(process.env.HEARTH_TEST_CACHE ?? '/var/cache/hearth-test', 'image-build');
export const DEBIAN_IMAGE_NAME = 'debian-12-local';

export interface BuildImageRun {
  exitCode: number;
  /** stdout: the installer's protocol lines (::step, ::progress, ::result, ::fail) and log lines. */
  lines: string[];
  stderr: string;
  seconds: number;
}

/** Runs the real `hearthd build-image` (the bundle); never rejects on a failed build. */
export async function runBuildImage(
  args: readonly string[],
  options: { timeoutMs?: number } = {},
): Promise<BuildImageRun> {
  const started = Date.now();
  await mkdir(DEBIAN_IMAGE_CACHE, { recursive: true, mode: 0o755 });
  // One build at a time per machine: test files that start cold at once would each build otherwise.
  const result = await execa(
    'flock',
    [join(DEBIAN_IMAGE_CACHE, '.lock'), process.execPath, HEARTHD_BUNDLE, 'build-image', ...args],
    { reject: false, stdin: 'ignore', timeout: options.timeoutMs ?? 30 * 60_000, env: { LC_ALL: 'C' } },
  );
  return {
    exitCode: result.exitCode ?? -1,
    lines: result.stdout.split('\n').filter(Boolean),
    stderr: result.stderr,
    seconds: (Date.now() - started) / 1000,
  };
}

/**
 * Installs the Debian image as `name` into `paths.stateDir` (building it first on a cold cache)
 * and returns the name to create environments from. Throws with the build's last lines on failure.
 */
export async function installDebianImage(
  paths: { stateDir: string },
  name: string = DEBIAN_IMAGE_NAME,
): Promise<{ name: string; cached: boolean; run: BuildImageRun }> {
  const run = await runBuildImage(['--state-dir', paths.stateDir, '--cache-dir', DEBIAN_IMAGE_CACHE, '--name', name]);
  if (run.exitCode !== 0)
    throw new Error(`hearthd build-image exited ${run.exitCode}:\n${run.lines.slice(-15).join('\n')}\n${run.stderr}`);
  return { name, cached: run.lines.includes('::result bootstrap unchanged cached'), run };
}
