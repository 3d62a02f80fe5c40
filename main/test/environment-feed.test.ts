import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTestImage, killVmms, addTinyClass } from '../../helper/test/support/environments.js';
import { HearthdProcess, makePaths } from '../../helper/test/support/hearthd-process.js';
import { ConnectionManager } from '../src/core/connection.js';
import { EnvironmentFeed } from '../src/core/environment-feed.js';
import type { TrayEnvironment } from '../src/core/tray-model.js';
import { eventually } from '../../helper/test/support/eventually.js';

/** The tray's environment list against a real hearthd running a real (TCG) VM. */
describe('EnvironmentFeed', () => {
  let daemon: HearthdProcess;
  let manager: ConnectionManager;
  let feed: EnvironmentFeed;
  let latest: TrayEnvironment[] | undefined;

  /** The tray list once it matches `predicate`. */
  const listed = (predicate: (list: TrayEnvironment[]) => boolean, timeoutMs = 90_000) =>
    eventually(() => (latest && predicate(latest) ? latest : undefined), {
      what: 'the tray list to match',
      timeoutMs,
      context: () => `last: ${JSON.stringify(latest)}`,
    });

  beforeAll(async () => {
    const paths = await makePaths('hearth-feed-');
    await installTestImage(paths);
    daemon = await HearthdProcess.start(paths, ['--hypervisor', 'qemu', '--accel', 'tcg']);
    const client = daemon.client();
    await addTinyClass(client);
    await client.close();
    manager = new ConnectionManager({
      socketPath: paths.socket,
      bundledVersion: '0.1.0',
      isInstalled: () => Promise.resolve(true),
      initialBackoffMs: 50,
      maxBackoffMs: 300,
    });
    feed = new EnvironmentFeed(manager, (list) => {
      latest = list;
    });
    feed.start();
    manager.start();
  }, 180_000);

  afterAll(async () => {
    feed.stop();
    await manager.stop();
    await killVmms(daemon.paths);
    await daemon.dispose();
    await rm(daemon.paths.dir, { recursive: true, force: true });
  });

  it('follows an environment from creation to running, stops it from the tray, and drops it on delete', async () => {
    await listed((list) => list.length === 0);
    const client = daemon.client();
    const created = await client.call('createEnvironment', { body: { name: 'tray-demo', class: 'tiny' } });
    expect(await listed((list) => list[0]?.state === 'running')).toEqual([
      { id: created.id, name: 'tray-demo', state: 'running' },
    ]);

    await feed.stopEnvironment(created.id);
    await listed((list) => list[0]?.state === 'stopped');

    await client.call('deleteEnvironment', { params: { id: created.id } });
    await listed((list) => list.length === 0);
    await client.close();
  });

  it('surfaces hearthd refusing a tray action', async () => {
    await expect(feed.stopEnvironment('no-such-environment')).rejects.toMatchObject({ status: 404 });
  });

  it('empties the list while hearthd is out of reach', async () => {
    const client = daemon.client();
    await client.call('createEnvironment', { body: { name: 'kept', class: 'tiny', start: false } });
    await client.close();
    await listed((list) => list.some((e) => e.name === 'kept'));
    daemon.signal('SIGTERM');
    await daemon.waitForExit();
    await listed((list) => list.length === 0, 15_000);
  });
});
