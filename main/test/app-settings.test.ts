import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Autostart, autostartEntry, autostartPath } from '../src/core/autostart.js';
import { compareVersions } from '../src/core/versions.js';
import { fitBounds, WindowStateStore } from '../src/core/window-state.js';

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-settings-'));
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('autostart (XDG)', () => {
  it('lives in $XDG_CONFIG_HOME/autostart, else ~/.config/autostart', () => {
    expect(autostartPath({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/a')).toBe('/x/cfg/autostart/hearth.desktop');
    expect(autostartPath({}, '/home/a')).toBe('/home/a/.config/autostart/hearth.desktop');
    expect(autostartPath({ XDG_CONFIG_HOME: 'relative' }, '/home/a')).toBe('/home/a/.config/autostart/hearth.desktop');
  });

  it('writes a valid entry that starts hidden, quoting the path, and removes it', async () => {
    const dir = await tempDir();
    const autostart = new Autostart(join(dir, 'autostart', 'hearth.desktop'), '/home/a/Apps/Hearth 1.0 "$x".AppImage');
    expect(await autostart.isEnabled()).toBe(false);
    expect(await autostart.set(true)).toBe(true);
    const text = await readFile(autostart.path, 'utf8');
    expect(text).toBe(autostartEntry('/home/a/Apps/Hearth 1.0 "$x".AppImage'));
    expect(text).toContain('Exec="/home/a/Apps/Hearth 1.0 \\"\\$x\\".AppImage" --hidden');
    expect((await stat(autostart.path)).mode & 0o777).toBe(0o644);
    await writeFile(autostart.path, `${text}Hidden=true\n`);
    expect(await autostart.isEnabled()).toBe(false);
    expect(await autostart.set(false)).toBe(false);
    await expect(stat(autostart.path)).rejects.toThrow();
  });

  it('launches the app (hearth-app, its icon), and rewrites an entry an older build left for /opt/Hearth/hearth', async () => {
    const dir = await tempDir();
    const path = join(dir, 'autostart', 'hearth.desktop');
    const app = new Autostart(path, '/opt/Hearth/hearth-app');
    expect(await app.refresh()).toBe(false); // nothing enabled: nothing written
    await expect(stat(path)).rejects.toThrow();
    await app.set(true);
    const text = await readFile(path, 'utf8');
    expect(text).toMatch(/^Exec="\/opt\/Hearth\/hearth-app" --hidden$/m);
    expect(text).toMatch(/^Icon=hearth-app$/m);
    expect(await app.refresh()).toBe(false);
    // What the build whose executable was `hearth` wrote: after the upgrade that path is gone.
    await writeFile(
      path,
      text.replace('hearth-app" --hidden', 'hearth" --hidden').replace('Icon=hearth-app', 'Icon=hearth'),
    );
    expect(await app.refresh()).toBe(true);
    expect(await readFile(path, 'utf8')).toBe(text);
    // Switched off by the user (or the desktop): left as it is.
    const off = `${text}X-GNOME-Autostart-enabled=false\n`.replace('hearth-app" --hidden', 'hearth" --hidden');
    await writeFile(path, off);
    expect(await app.refresh()).toBe(false);
    expect(await readFile(path, 'utf8')).toBe(off);
  });
});

describe('window bounds', () => {
  const screen = [{ x: 0, y: 0, width: 1920, height: 1080 }];

  it('keeps saved bounds that are on a screen', () => {
    const saved = { x: 100, y: 100, width: 1000, height: 700 };
    expect(fitBounds(saved, screen, { width: 1100, height: 760 })).toEqual(saved);
  });

  it('centres bounds whose screen is gone, and shrinks them to fit', () => {
    expect(fitBounds({ x: 3000, y: 100, width: 2500, height: 700 }, screen, { width: 1100, height: 760 })).toEqual({
      x: 0,
      y: 190,
      width: 1920,
      height: 700,
    });
    expect(fitBounds(undefined, screen, { width: 1100, height: 760 })).toEqual({
      x: 410,
      y: 160,
      width: 1100,
      height: 760,
    });
  });

  it('stores and loads, ignoring a corrupt or hostile file', async () => {
    const store = new WindowStateStore(join(await tempDir(), 'window-state.json'));
    expect(await store.load()).toBeUndefined();
    await store.save({ x: 1, y: 2, width: 900, height: 600, maximized: true });
    expect(await store.load()).toEqual({ x: 1, y: 2, width: 900, height: 600, maximized: true });
    await writeFile(store.path, '{"x":1,"y":2,"width":1e9,"height":600}');
    expect(await store.load()).toBeUndefined();
    await writeFile(store.path, 'not json');
    expect(await store.load()).toBeUndefined();
  });
});

describe('compareVersions', () => {
  it.each([
    ['0.10.0', '0.9.1', 1],
    ['1.0.0', '1.0.0', 0],
    ['1.0.0-beta.1', '1.0.0', -1],
    ['1.0', '1.0.1', -1],
  ])('%s vs %s', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
  });
});
