import { readFileSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { HearthdProcess, makePaths } from './support/hearthd-process.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';

const running: HearthdProcess[] = [];
async function start(...args: Parameters<typeof HearthdProcess.start>) {
  const daemon = await HearthdProcess.start(...args);
  running.push(daemon);
  return daemon;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.dispose()));
});

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

describe('hearthd process lifecycle', () => {
  it('exits 0 on SIGTERM and removes its socket', async () => {
    const daemon = await start();
    daemon.signal('SIGTERM');
    expect(await daemon.waitForExit()).toBe(0);
    expect(await exists(daemon.paths.socket)).toBe(false);
    expect(daemon.logs().some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('still stops on SIGTERM after whoever read its output went away', async () => {
    const daemon = await start();
    daemon.child.stdout?.destroy(); // its next log line meets EPIPE
    daemon.child.stderr?.destroy();
    await new Promise((r) => setTimeout(r, 100));
    daemon.signal('SIGTERM');
    expect(await daemon.waitForExit()).toBe(0);
    expect(await exists(daemon.paths.socket)).toBe(false);
  });

  it('ends open event streams when it shuts down', async () => {
    const daemon = await start();
    const client = daemon.client();
    const stream = client.events();
    expect((await stream.next()).value).toMatchObject({ type: 'hello' });
    daemon.signal('SIGINT');
    // The stream ends instead of hanging: the client sees done (or a reset), never a timeout.
    // Events published just before the signal (the first readiness verdict, on a loaded machine)
    // may still arrive first; at most a few.
    let end: object = await stream.next().catch((error: unknown) => ({ error }));
    for (let i = 0; i < 5 && !('error' in end) && (end as IteratorResult<unknown>).done === false; i++)
      end = await stream.next().catch((error: unknown) => ({ error }));
    expect(end).toSatisfy((r: object) => 'error' in r || (r as IteratorResult<unknown>).done === true);
    expect(await daemon.waitForExit()).toBe(0);
    await client.close();
  });

  it('refuses to start a second hearthd on a socket that is being served', async () => {
    const first = await start();
    const second = HearthdProcess.spawn(first.paths);
    running.push(second);
    expect(await second.waitForExit()).not.toBe(0);
    expect(second.output.join('\n')).toContain(`another hearthd is already serving ${first.paths.socket}`);
    const client = first.client();
    await expect(client.call('getVersion')).resolves.toMatchObject({ api: 'v1' });
    await client.close();
  });

  it('replaces a stale socket left by a crash', async () => {
    const crashed = await start();
    crashed.signal('SIGKILL');
    await crashed.waitForExit();
    expect(await exists(crashed.paths.socket)).toBe(true);
    const next = await start(crashed.paths);
    const client = next.client();
    await expect(client.call('getVersion')).resolves.toMatchObject({ api: 'v1' });
    await client.close();
  });

  it('never replaces a file that is not a socket', async () => {
    const paths = await makePaths();
    await writeFile(paths.socket, 'precious');
    const daemon = HearthdProcess.spawn(paths);
    running.push(daemon);
    expect(await daemon.waitForExit()).not.toBe(0);
    expect(daemon.output.join('\n')).toContain('is not a socket');
    expect(readFileSync(paths.socket, 'utf8')).toBe('precious');
  });

  it('gives the socket group to the configured group', skipWhen(NEEDS_ROOT), async () => {
    const group = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .find(([name]) => name === 'daemon');
    if (!group) throw new Error('/etc/group has no daemon group');
    const daemon = await start(await makePaths(), ['--socket-group', 'daemon']);
    const stats = await stat(daemon.paths.socket);
    expect(stats.gid).toBe(Number(group[2]));
    expect((stats.mode & 0o777).toString(8)).toBe('660');
  });

  it('rejects bad flags with usage and exit code 64', async () => {
    const daemon = HearthdProcess.spawn(await makePaths(), ['--hypervisor', 'xen']);
    running.push(daemon);
    expect(await daemon.waitForExit()).toBe(64);
    expect(daemon.output.join('\n')).toContain('invalid setting flag');
  });

  it('keeps an unreadable settings file aside and starts with defaults', async () => {
    const paths = await makePaths();
    const { mkdir } = await import('node:fs/promises');
    await mkdir(paths.stateDir, { recursive: true });
    await writeFile(`${paths.stateDir}/settings.json`, '{"heartbeatSeconds": "often"');
    const daemon = await start(paths);
    const client = daemon.client();
    expect((await client.call('getConfig')).settings.heartbeatSeconds).toBe(15);
    await client.close();
    const { readdir } = await import('node:fs/promises');
    const kept = (await readdir(paths.stateDir)).filter((f) => f.startsWith('settings.json.invalid-'));
    expect(kept).toHaveLength(1);
    expect(readFileSync(`${paths.stateDir}/${kept[0]}`, 'utf8')).toBe('{"heartbeatSeconds": "often"');
  });
});
