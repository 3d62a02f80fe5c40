import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthdProcess } from '../helper/test/support/hearthd-process.js';
import { artifactPath } from './support/browser.js';
import { skipWhen } from '../helper/test/support/skip.js';

/**
 * The real desktop app: launch → window, tray, single instance. These run wherever the Electron
 * binary exists (a developer machine: `npm run test:e2e`), and skip loudly where it does not (the
 * CI machines cannot download it).
 */
const repo = join(import.meta.dirname, '..');

function findElectron(): { path?: string; reason?: string } {
  // Not require('electron'): when its binary is missing, that starts a download, which must never
  // happen in tests. Read the path the package's install step records instead.
  const pkg = join(repo, 'node_modules', 'electron');
  const override = process.env.HEARTH_ELECTRON;
  let path: string;
  if (override !== undefined) {
    path = override;
  } else if (existsSync(join(pkg, 'path.txt'))) {
    path = join(pkg, 'dist', readFileSync(join(pkg, 'path.txt'), 'utf8').trim());
  } else {
    return { reason: 'the Electron binary was never downloaded (node_modules/electron/path.txt is missing)' };
  }
  if (!existsSync(path)) return { reason: `the Electron binary is missing at ${path}` };
  if (process.env.DISPLAY === undefined && process.env.WAYLAND_DISPLAY === undefined)
    return { reason: 'no display: run under xvfb-run (apt-get install xvfb)' };
  if (!existsSync(join(repo, 'dist/main/main.cjs'))) return { reason: 'dist/main/main.cjs is missing: npm run build' };
  return { path };
}

const electron = findElectron();
if (electron.reason !== undefined) console.warn(`SKIPPED Electron e2e specs: ${electron.reason}`);

describe('the Electron app', skipWhen(electron.reason), () => {
  let daemon: HearthdProcess;
  let userData: string;
  let app: ElectronApplication;
  let page: Page;
  const args = () => [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), `--user-data-dir=${userData}`, repo];
  const env = () => ({
    ...process.env,
    HEARTH_SOCKET: daemon.paths.socket,
    HEARTH_E2E: '1',
    HEARTH_FORCE_TRAY: '1',
    XDG_CONFIG_HOME: join(userData, 'config'),
  });

  beforeAll(async () => {
    daemon = await HearthdProcess.start();
    userData = await mkdtemp(join(tmpdir(), 'hearth-electron-'));
    app = await _electron.launch({ executablePath: electron.path!, args: args(), env: env() });
    page = await app.firstWindow();
  });
  afterAll(async () => {
    await app.close();
    await daemon.dispose();
    await rm(userData, { recursive: true, force: true });
  });

  it('shows the window with the setup page, connected to hearthd', async () => {
    expect(await page.title()).toBe('Hearth');
    await page.locator('[data-testid="helper-dot"][data-state="connected"]').waitFor({ timeout: 15_000 });
    await page.screenshot({ path: await artifactPath('electron-window.png') });
  });

  it('gives the page window.hearth and nothing of Node', async () => {
    expect(await page.evaluate(() => Object.keys((window as unknown as { hearth: object }).hearth).sort())).toEqual([
      'invoke',
      'on',
    ]);
    expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    expect(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');
    const opened = await page.evaluate(() => globalThis.open('https://example.com') === null);
    expect(opened).toBe(true);
  });

  it('has a tray icon', async () => {
    expect(
      await app.evaluate(() =>
        (globalThis as unknown as { hearthTest: { trayExists(): boolean } }).hearthTest.trayExists(),
      ),
    ).toBe(true);
  });

  it('is single-instance: a second launch exits and focuses the first window', async () => {
    const second = spawn(electron.path!, args(), { env: env(), stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
    expect(code).toBe(0);
    expect(app.windows()).toHaveLength(1);
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]?.isVisible())).toBe(true);
  });
});
