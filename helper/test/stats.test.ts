import { execFile } from 'node:child_process';
import { chmod, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HearthdClient } from '#protocol/client';
import { addTinyClass, installTestImage, killVmms, waitForState } from './support/environments.js';
import { HearthdProcess, makePaths } from './support/hearthd-process.js';
import { eventually } from './support/eventually.js';
import { SseReader } from './support/sse-reader.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';

const run = promisify(execFile);
const ticks = async (pid: number) => {
  const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
};
const rss = async (pid: number) =>
  Number(/^VmRSS:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/** Live figures of a real (TCG) VM, checked against /proc, and only for whoever may see them. */
describe('environment stats', skipWhen(NEEDS_ROOT), () => {
  let daemon: HearthdProcess;
  let client: HearthdClient;

  beforeAll(async () => {
    const paths = await makePaths('hearthd-stats-');
    await installTestImage(paths);
    daemon = await HearthdProcess.start(paths);
    await chmod(paths.socket, 0o666); // this daemon serves this test only
    client = daemon.client();
    await addTinyClass(client);
    await client.call('createEnvironment', { body: { name: 'busy', class: 'tiny' } });
    await waitForState(client, 'busy', 'running', 90_000);
  }, 180_000);

  afterAll(async () => {
    await client.close();
    await killVmms(daemon.paths);
    await daemon.dispose();
  });

  it("reports the VMM's CPU and RSS as /proc shows them", async () => {
    const first = await client.call('getEnvironmentStats', { params: { id: 'busy' } });
    const pid = first.vmm!.pid;
    const t0 = await ticks(pid);
    const at0 = Date.now();
    await new Promise((r) => setTimeout(r, 1_500));
    const stats = await client.call('getEnvironmentStats', { params: { id: 'busy' } });
    const cpu = ((await ticks(pid)) - t0) / ((Date.now() - at0) / 1000);
    expect(Math.abs(stats.vmm!.cpuPercent - cpu)).toBeLessThan(25);
    expect(Math.abs(stats.vmm!.rssBytes - (await rss(pid))) / (await rss(pid))).toBeLessThan(0.2);
    expect(stats.memory).toEqual({ configuredBytes: 128 * 1024 * 1024, guestUsedBytes: null });
    expect(stats.disk.allocatedBytes).toBeGreaterThan(0);
    console.log(`stats: ${JSON.stringify(stats)}; /proc CPU ${cpu.toFixed(1)} %`);
  });

  it('sends stats events to the owner and nothing of it to another uid', async () => {
    const mine = await SseReader.open(daemon.paths.socket, '/v1/events');
    await eventually(() => mine.messages.some((m) => m.event === 'stats'), {
      timeoutMs: 10_000,
      what: 'a stats event',
    });
    mine.close();
    const { stdout: status } = await run('setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--',
      'curl',
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--unix-socket',
      daemon.paths.socket,
      'http://hearthd/v1/environments/busy/stats',
    ]);
    expect(status).toBe('404');
    const { stdout } = await run('setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--',
      'curl',
      '-s',
      '-N',
      '--max-time',
      '5',
      '--unix-socket',
      daemon.paths.socket,
      'http://hearthd/v1/events',
    ]).catch((e: unknown) => ({ stdout: (e as { stdout: string }).stdout }));
    expect(stdout).toContain('event: hello');
    expect(stdout).not.toContain('event: stats');
    expect(stdout).not.toContain('busy');
  }, 30_000);
});
