import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ipcEvents } from '#protocol';
import { Value } from '@sinclair/typebox/value';
import { AppSettingsStore, closeHides } from '../src/core/app-settings.js';
import { hashOf, routeOf } from '../src/core/navigation.js';
import { environmentNotices, type TrayEnvironment } from '../src/core/tray-model.js';

const env = (id: string, state: TrayEnvironment['state']): TrayEnvironment => ({ id, name: id, state });

describe('environment notifications', () => {
  it('says nothing for what was already so when the app first sees it (start, reconnect)', () => {
    expect(environmentNotices([], [env('a', 'failed'), env('b', 'running')])).toEqual([]);
  });

  it('notifies each transition once: to running (ready) and to failed, not on repeated updates', () => {
    const starting = [env('a', 'starting'), env('b', 'running')];
    const ready = [env('a', 'running'), env('b', 'running')];
    expect(environmentNotices(starting, ready).map((n) => n.title)).toEqual(['a is ready']);
    expect(environmentNotices(ready, ready)).toEqual([]);
    const failed = [env('a', 'running'), env('b', 'failed')];
    expect(environmentNotices(ready, failed).map((n) => n.title)).toEqual(['b failed']);
    expect(environmentNotices(failed, failed)).toEqual([]);
  });

  it('opens the environment the notice is about, as a route the navigate event accepts', () => {
    const [notice] = environmentNotices([env('env-0123456789ab', 'starting')], [env('env-0123456789ab', 'running')]);
    const route = routeOf({ page: 'environment', id: notice!.id });
    expect(route).toBe('#/environments/env-0123456789ab');
    expect(Value.Check(ipcEvents.navigate, { route })).toBe(true);
    expect(routeOf({ page: 'dashboard' })).toBe('#/');
    expect(hashOf(route)).toBe('/environments/env-0123456789ab');
    expect(Value.Check(ipcEvents.navigate, { route: 'javascript:alert(1)' })).toBe(false);
  });
});

describe('app settings (what closing the window does)', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-app-settings-'));
    dirs.push(dir);
    return dir;
  };

  it('defaults to the tray, saves a choice (0600), and reads it back in a new process', async () => {
    const path = join(await tempDir(), 'config', 'app-settings.json');
    const store = new AppSettingsStore(path);
    expect(store.peek()).toEqual({ closeAction: 'tray' });
    expect(await store.get()).toEqual({ closeAction: 'tray' });
    await store.update({ closeAction: 'quit' });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ closeAction: 'quit' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await new AppSettingsStore(path).get()).toEqual({ closeAction: 'quit' });
  });

  it('an invalid file means the defaults, not a crash', async () => {
    const path = join(await tempDir(), 'app-settings.json');
    await writeFile(path, '{"closeAction":"explode"}');
    expect(await new AppSettingsStore(path).get()).toEqual({ closeAction: 'tray' });
    await writeFile(path, 'not json');
    expect(await new AppSettingsStore(path).get()).toEqual({ closeAction: 'tray' });
  });

  it('closing hides the window only with a tray, when not quitting, and when the user chose the tray', () => {
    expect(closeHides({ closeAction: 'tray' }, true, false)).toBe(true);
    expect(closeHides({ closeAction: 'quit' }, true, false)).toBe(false);
    expect(closeHides({ closeAction: 'tray' }, false, false)).toBe(false);
    expect(closeHides({ closeAction: 'tray' }, true, true)).toBe(false);
  });
});
