import { execFile } from 'node:child_process';
import { mkdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevWeb } from '../main/src/web/dev-web.js';
import { seedScratchRoot } from '../main/test/support/scratch-root.js';
import { shootAndCheck } from './support/axe.js';
import { artifactPath, launchChromium, openRoute } from './support/browser.js';
import { cannotRunGuiSpec, RENDERER } from './support/gui-stack.js';
import { skipWhen } from '../helper/test/support/skip.js';

const skip = cannotRunGuiSpec('cli-card');
const repo = join(import.meta.dirname, '..');
const run = promisify(execFile);

/**
 * Settings → Command line in Chromium (browser mode), over the real bridge and main's real
 * handlers, with the installer running the real hearth-install.sh into a scratch root (browser
 * mode with --install-root offers the link there, as an AppImage does on /): the card says the
 * command is installed but not on PATH, "Install the hearth command" runs link-cli with its
 * progress, and the card then shows where `hearth` is. No hearthd is needed: the card is the app's.
 */
describe('Settings → Command line in the browser', skipWhen(skip), () => {
  let root: string;
  let dev: Awaited<ReturnType<typeof startDevWeb>> | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    root = await seedScratchRoot('hearth-cli-card-');
    await mkdir(join(root, 'usr/local/bin'), { recursive: true, mode: 0o755 });
    // The helper as "Install helper" leaves it (its own script, with the command), before the test.
    await run('/bin/bash', [
      join(repo, 'assets/linux/hearth-install.sh'),
      'install',
      '--root',
      root,
      '--user',
      'alice',
      '--hearthd',
      join(repo, 'dist/helper/hearthd.mjs'),
      '--node',
      process.execPath,
      '--cli',
      join(repo, 'dist/cli/hearth.cjs'),
      '--version',
      '0.1.0',
    ]);
    dev = await startDevWeb({
      socket: join(root, 'run/hearth/hearthd.sock'),
      rendererDir: RENDERER,
      installRoot: root,
      installUser: 'alice',
      sshHome: join(root, 'home/alice'),
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await openRoute(page, dev.url, '#/settings');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await dev?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('offers the command, links it through the installer, and then shows where it is', async () => {
    const card = page.getByTestId('cli');
    await card.scrollIntoViewIfNeeded();
    await expect.poll(() => card.getByTestId('cli-state').textContent(), { timeout: 15_000 }).toContain('Not on PATH');
    expect(await card.getByTestId('cli-installed').textContent()).toBe('/usr/lib/hearth/hearth');
    expect(await card.getByTestId('cli-usage').textContent()).toBe('hearth --help');
    await card.screenshot({ path: await artifactPath('settings-cli-offer.png') });

    await card.getByRole('button', { name: 'Install the hearth command' }).click();
    await expect.poll(() => card.getByTestId('cli-state').textContent(), { timeout: 30_000 }).toContain('Available');
    expect(await card.getByTestId('cli-command').textContent()).toBe('/usr/local/bin/hearth → /usr/lib/hearth/hearth');
    // The installer's own panel, finished, with the script's step.
    expect(await card.getByTestId('install').getAttribute('data-state')).toBe('succeeded');
    expect(await card.getByTestId('install').textContent()).toContain(
      'Link /usr/local/bin/hearth to the hearth command',
    );
    expect(await card.getByRole('button', { name: 'Install the hearth command' }).count()).toBe(0);
    expect(await readlink(join(root, 'usr/local/bin/hearth'))).toBe('/usr/lib/hearth/hearth');

    await card.scrollIntoViewIfNeeded();
    await card.screenshot({ path: await artifactPath('settings-cli-linked.png') });
    // The whole page in light and dark, each checked with axe.
    await shootAndCheck(page, 'settings-cli');
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
