import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionState } from '#protocol';
import { HearthdProcess, makePaths } from '../../helper/test/support/hearthd-process.js';
import { ConnectionManager } from '../src/core/connection.js';
import { ReadinessFeed, type Readiness } from '../src/core/readiness-feed.js';
import { environmentNotices, trayModel, type TrayEnvironment, type TrayMenuItem } from '../src/core/tray-model.js';
import { eventually } from '../../helper/test/support/eventually.js';

const env = (id: string, state: TrayEnvironment['state'], sshHost?: string): TrayEnvironment => ({
  id,
  name: id,
  state,
  ...(sshHost !== undefined && { sshHost }),
});
const labels = (items: TrayMenuItem[]) =>
  items.map((i) => (i.type === 'separator' ? '---' : i.type === 'submenu' ? `${i.label} >` : i.label));

describe('trayModel', () => {
  it.each<[ConnectionState, string, string]>([
    ['connecting', 'not-ready', 'Connecting to the helper…'],
    ['not-installed', 'attention', 'Helper not installed'],
    ['stopped', 'attention', 'Helper not running'],
    ['permission-denied', 'attention', 'No access to the helper'],
    ['version-mismatch', 'attention', 'Helper needs an update'],
    ['unreachable', 'attention', 'Helper not answering'],
  ])('when %s: icon %s, says so, and still opens the app and quits', (connection, icon, status) => {
    const model = trayModel({ connection, environments: [env('a', 'running')] });
    expect(model.icon).toBe(icon);
    expect(model.tooltip).toBe(`Hearth — ${status}`);
    expect(labels(model.menu)).toEqual([status, '---', 'Open Hearth', 'Quit Hearth']);
  });

  it('ready and idle', () => {
    const model = trayModel({ connection: 'connected', verdict: 'ready', environments: [] });
    expect(model.icon).toBe('idle');
    expect(labels(model.menu)).toEqual([
      'Ready, nothing running',
      '---',
      'No environments yet',
      '---',
      'Open Hearth',
      'Quit Hearth',
    ]);
  });

  it('degraded and idle: ready, but not without limitations', () => {
    const model = trayModel({
      connection: 'connected',
      verdict: 'degraded',
      reason: 'Works emulated (QEMU TCG), many times slower (room for 3 environments): /dev/kvm',
      environments: [],
    });
    expect(model.icon).toBe('idle');
    expect(model.tooltip).toBe('Hearth — Ready with limitations, nothing running');
  });

  it('not ready machine: says why', () => {
    const model = trayModel({
      connection: 'connected',
      verdict: 'not-ready',
      reason: 'KVM is missing',
      environments: [],
    });
    expect(model.icon).toBe('not-ready');
    expect(model.tooltip).toBe('Hearth — Not ready: KVM is missing');
    expect(labels(model.menu)[0]).toBe('Not ready: KVM is missing');
  });

  it('N running, each with quick actions', () => {
    const model = trayModel({
      connection: 'connected',
      verdict: 'ready',
      environments: [env('web', 'running', 'web.hearth'), env('api', 'starting'), env('old', 'stopped')],
    });
    expect(model.icon).toBe('running');
    expect(model.tooltip).toBe('Hearth — 2 environments running');
    expect(labels(model.menu)).toEqual([
      '2 environments running',
      '---',
      'api — starting >',
      'old — stopped >',
      'web — running >',
      '---',
      'Open Hearth',
      'Quit Hearth',
    ]);
    const web = model.menu.find((i) => i.type === 'submenu' && i.label.startsWith('web'));
    expect(web).toEqual({
      type: 'submenu',
      label: 'web — running',
      items: [
        { type: 'action', label: 'Open', action: { kind: 'open-environment', id: 'web' } },
        {
          type: 'action',
          label: 'Copy SSH command',
          action: { kind: 'copy-ssh', id: 'web', command: 'ssh web.hearth' },
        },
        { type: 'action', label: 'Stop', action: { kind: 'stop-environment', id: 'web' }, enabled: true },
      ],
    });
    const old = model.menu.find((i) => i.type === 'submenu' && i.label.startsWith('old'));
    expect(old?.type === 'submenu' && old.items.map((i) => (i.type === 'action' ? i.label : ''))).toEqual(['Open']);
  });

  it('attention when an environment failed, even with others running', () => {
    const model = trayModel({ connection: 'connected', environments: [env('a', 'running'), env('b', 'failed')] });
    expect(model.icon).toBe('attention');
    expect(model.tooltip).toBe('Hearth — 1 environment failed');
  });
});

describe('environmentNotices', () => {
  it('notifies when an environment becomes ready or fails, not for what was already so', () => {
    const before = [env('a', 'starting'), env('b', 'running'), env('c', 'running')];
    const after = [env('a', 'running', 'a.hearth'), env('b', 'running'), env('c', 'failed'), env('d', 'running')];
    expect(environmentNotices(before, after)).toEqual([
      { id: 'a', title: 'a is ready', body: 'Connect with: ssh a.hearth' },
      { id: 'c', title: 'c failed', body: 'Open Hearth to see its log.' },
    ]);
    expect(environmentNotices(after, after)).toEqual([]);
  });
});

/** The verdict the tray gets, from a real hearthd looking at an empty machine (no KVM, no VMM). */
describe('ReadinessFeed against a real hearthd', () => {
  let daemon: HearthdProcess;
  let manager: ConnectionManager;
  let feed: ReadinessFeed;
  let latest: Readiness | undefined;

  beforeAll(async () => {
    const paths = await makePaths('hearth-tray-');
    const hostRoot = join(paths.dir, 'empty-machine');
    await mkdir(hostRoot);
    daemon = await HearthdProcess.start(paths, ['--host-root', hostRoot]);
    manager = new ConnectionManager({
      socketPath: paths.socket,
      bundledVersion: '0.1.0',
      isInstalled: () => Promise.resolve(true),
      initialBackoffMs: 50,
    });
    feed = new ReadinessFeed(manager, (readiness) => {
      latest = readiness;
    });
    feed.start();
    manager.start();
  }, 60_000);
  afterAll(async () => {
    feed.stop();
    await manager.stop();
    await daemon.dispose();
    await rm(daemon.paths.dir, { recursive: true, force: true });
  });

  it('shows "not ready" with the reason hearthd gives', async () => {
    await eventually(() => latest !== undefined, { what: 'the first tray model', timeoutMs: 20_000 });
    expect(latest?.verdict).toBe('not-ready');
    const host = await manager.client.call('getHost');
    expect(latest?.reason).toBe(host.reason);
    const model = trayModel({ connection: manager.status.state, environments: [], ...latest });
    expect(model.icon).toBe('not-ready');
    expect(model.tooltip).toBe(`Hearth — Not ready: ${host.reason}`);
  });
});
