import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevWeb } from '../main/src/web/dev-web.js';
import { seedScratchRoot } from '../main/test/support/scratch-root.js';
import { artifactPath, CHROMIUM, launchChromium, openRoute } from './support/browser.js';
import { skipWhen } from '../helper/test/support/skip.js';

const RENDERER = join(import.meta.dirname, '..', 'dist', 'renderer');
const reason =
  process.getuid?.() !== 0
    ? 'the installer creates root-owned files: run as root (CI does)'
    : [CHROMIUM, join(RENDERER, 'index.html')].find((p) => !existsSync(p));
if (reason !== undefined) console.warn(`SKIPPED installer e2e: ${reason}`);

/**
 * The click-through installer in the browser: "Install helper" runs the real install script
 * (directly, as the tests run as root; pkexec on a desktop) into a scratch root, the page shows
 * each step, and the hearthd it installed then serves the page.
 */
describe('installer click-through (browser mode, scratch root)', skipWhen(reason), () => {
  let root: string;
  let dev: Awaited<ReturnType<typeof startDevWeb>>;
  let browser: Browser;
  let page: Page;
  let hearthd: ChildProcess | undefined;

  beforeAll(async () => {
    root = await seedScratchRoot('hearth-e2e-root-');
    dev = await startDevWeb({
      socket: join(root, 'run/hearth/hearthd.sock'),
      rendererDir: RENDERER,
      installRoot: root,
      installUser: 'alice',
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await openRoute(page, dev.url, '#/setup/helper');
  });
  afterAll(async () => {
    hearthd?.kill('SIGTERM');
    await browser.close();
    await dev.close();
    await rm(root, { recursive: true, force: true });
  });

  it('shows "not installed", installs step by step, then connects to the installed hearthd', async () => {
    await page.locator('[data-testid="connection"][data-state="not-installed"]').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: await artifactPath('setup-not-installed.png'), fullPage: true });
    await page.getByRole('button', { name: 'Install helper' }).click();
    await page.locator('[data-testid="install"][data-state="succeeded"]').waitFor({ timeout: 30_000 });
    const steps = await page
      .locator('[data-step]')
      .evaluateAll((els) =>
        els.map((el): [string, string] => [el.getAttribute('data-step') ?? '', el.getAttribute('data-state') ?? '']),
      );
    expect(Object.fromEntries(steps)).toEqual({
      authorize: 'changed',
      preflight: 'unchanged',
      users: 'changed',
      files: 'changed',
      unit: 'changed',
      runtime: 'changed',
      access: 'changed',
      service: 'changed',
      socket: 'skipped',
      verify: 'skipped',
    });
    await page.getByText('Log (').click();
    await page.screenshot({ path: await artifactPath('installer-succeeded.png'), fullPage: true });
    expect(await readFile(join(root, 'usr/lib/hearth/installed.env'), 'utf8')).toContain('HEARTH_VERSION=0.1.0');

    // Installed but not running (nothing starts in a scratch root)…
    await page.locator('[data-testid="connection"][data-state="stopped"]').waitFor({ timeout: 10_000 });
    // …so start the installed hearthd exactly as its unit does, and the page connects on its own.
    const unit = await readFile(join(root, 'etc/systemd/system/hearthd.service'), 'utf8');
    const argv = /^ExecStart=(.+)$/m
      .exec(unit)![1]!
      .split(/\s+/)
      .map((a) => (a.startsWith('/') ? join(root, a) : a));
    hearthd = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 15_000 });
    await page.evaluate(() => (location.hash = '#/setup/machine'));
    await page.getByTestId('verdict-reason').waitFor();
  });
});

describe('installer failure is shown: which step, and why', skipWhen(reason), () => {
  it("reports the failed step with the script's reason, and the log", async () => {
    const root = await mkdtemp(join(tmpdir(), 'hearth-e2e-unsafe-'));
    await chmod(root, 0o755);
    await mkdir(join(root, 'etc'), { recursive: true });
    await mkdir(join(root, 'usr/lib'), { recursive: true });
    await chmod(join(root, 'usr/lib'), 0o777); // writable by anyone: the script must refuse
    const dev = await startDevWeb({
      socket: join(root, 'run/hearth/hearthd.sock'),
      rendererDir: RENDERER,
      installRoot: root,
    });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      await openRoute(page, dev.url, '#/setup/helper');
      await page.getByRole('button', { name: 'Install helper' }).click();
      await page.locator('[data-testid="install"][data-state="failed"]').waitFor({ timeout: 30_000 });
      expect(await page.locator('[data-step="preflight"]').getAttribute('data-state')).toBe('failed');
      expect(await page.locator('[data-step="users"]').getAttribute('data-state')).toBe('pending');
      const alert = await page.locator('[data-testid="install"] [role="alert"]').textContent();
      expect(alert).toMatch(/^Check this machine: .*usr\/lib is writable by group or others \(mode 777\)/);
      await page.screenshot({ path: await artifactPath('installer-failed.png'), fullPage: true });
    } finally {
      await browser.close();
      await dev.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
