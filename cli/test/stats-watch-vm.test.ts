import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentStats } from '#protocol';
import { addTinyClass, installTestImage, killVmms, waitForState } from '../../helper/test/support/environments.js';
import { HearthdProcess, makePaths, type HearthdPaths } from '../../helper/test/support/hearthd-process.js';
import { NEEDS_ROOT, skipWhen } from '../../helper/test/support/skip.js';
import { CLI, expectValid, hearthAsRoot, underPty, untilStdout } from './support/run-cli.js';

/**
 * `hearth stats --watch` on a running environment: the tiny busybox guest under QEMU TCG (run
 * under the machine's VM lock), its samples arriving from hearthd's `stats` events.
 */
describe('hearth stats --watch on a running environment', skipWhen(NEEDS_ROOT), () => {
  let paths: HearthdPaths;
  let daemon: HearthdProcess;

  beforeAll(async () => {
    paths = await makePaths('hearth-cli-stats-');
    await installTestImage(paths);
    daemon = await HearthdProcess.start(paths);
    const client = daemon.client();
    await addTinyClass(client);
    await client.call('createEnvironment', { body: { name: 'busy', class: 'tiny' } });
    await waitForState(client, 'busy', 'running', 90_000);
    await client.close();
  }, 180_000);
  afterAll(async () => {
    await killVmms(paths);
    await daemon.dispose();
    await rm(paths.dir, { recursive: true, force: true });
  });

  it("prints a line per sample with the VMM's figures into a pipe; Ctrl-C ends it with 0", async () => {
    const watch = hearthAsRoot(paths.socket, ['stats', 'busy', '--watch']);
    // The first line comes from the call, the next two from stats events (every 2 s).
    const seen = await untilStdout(watch, /(.*\n){3}/, 20_000);
    const lines = seen.trim().split('\n');
    for (const line of lines)
      expect(line).toMatch(/^\S+ busy running cpu=\d+(\.\d)?% memory=[\d.]+ MiB\/128 MiB disk=/);
    expect(new Set(lines.map((l) => l.split(' ')[0])).size).toBe(lines.length); // each a new sample
    watch.kill('SIGINT');
    const result = await watch;
    expect(result.exitCode, result.stderr).toBe(0);
  });

  it('--json prints each sample as an EnvironmentStats document', async () => {
    const watch = hearthAsRoot(paths.socket, ['stats', 'busy', '--watch', '--json']);
    const seen = await untilStdout(watch, /(.*\n){2}/, 20_000);
    for (const line of seen.trim().split('\n')) {
      const stats = JSON.parse(line) as EnvironmentStats;
      expectValid(EnvironmentStats, stats);
      expect(stats.vmm?.pid).toBeGreaterThan(0);
    }
    watch.kill('SIGINT');
    expect((await watch).exitCode).toBe(0);
  });

  it('redraws its block in place on a terminal', async () => {
    // Under a pseudo-terminal; `timeout` delivers the Ctrl-C after a few samples and exits as the command did.
    const tty = await underPty([
      'timeout',
      '--preserve-status',
      '-s',
      'INT',
      '5',
      process.execPath,
      CLI,
      'stats',
      'busy',
      '-w',
      '--socket',
      paths.socket,
    ]);
    expect(tty.exitCode, tty.stdout).toBe(0);
    expect(tty.stdout).toMatch(/^busy +running/m);
    expect(tty.stdout).toContain('\u001b[4A\u001b[J'); // up over the four lines, cleared, drawn again
  });
});
