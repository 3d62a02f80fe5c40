import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTinyClass, installTestImage, killVmms } from '../helper/test/support/environments.js';
import { HearthdProcess, makePaths } from '../helper/test/support/hearthd-process.js';
import { startDevWeb } from '../main/src/web/dev-web.js';
import { artifactPath, CHROMIUM, launchChromium, openRoute } from './support/browser.js';

const RENDERER = join(import.meta.dirname, '..', 'dist', 'renderer');
const missing = [CHROMIUM, join(RENDERER, 'index.html')].filter((p) => !existsSync(p));
if (missing.length)
  console.warn(`SKIPPED dashboard e2e: missing ${missing.join(', ')} (apt-get install chromium; npm run build)`);

/** A TCG boot of the test guest takes seconds; two shared cores can make it slower. */
const BOOT_MS = 90_000;

/**
 * The dashboard in Chromium (browser mode) against a real hearthd that boots real QEMU TCG VMs:
 * every state the page shows is one hearthd reported, pushed through its event stream.
 * Run under the shared VM lock: flock /tmp/hearth-vm.lock npx vitest run e2e/dashboard.spec.ts
 */
describe.skipIf(missing.length > 0)('environments dashboard against a real hearthd', () => {
  let daemon: HearthdProcess;
  let dev: Awaited<ReturnType<typeof startDevWeb>>;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  const row = (name: string): Locator => page.locator(`[data-env="${name}"]`);
  const waitForState = (name: string, state: string, timeout = BOOT_MS) =>
    page.locator(`[data-env="${name}"][data-state="${state}"]`).waitFor({ timeout });
  const shoot = async (name: string) => {
    await page.emulateMedia({ colorScheme: 'light' });
    await page.screenshot({ path: await artifactPath(`${name}-light.png`), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: await artifactPath(`${name}-dark.png`), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
  };

  beforeAll(async () => {
    const paths = await makePaths('hearth-dash-');
    await installTestImage(paths);
    daemon = await HearthdProcess.start(paths, ['--hypervisor', 'qemu', '--accel', 'tcg']);
    const client = daemon.client();
    await addTinyClass(client);
    await client.close();
    dev = await startDevWeb({ socket: paths.socket, rendererDir: RENDERER, assumeInstalled: true });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    page.on('pageerror', (e) => errors.push(String(e)));
    await openRoute(page, dev.url, '#/');
  }, 180_000);

  afterAll(async () => {
    await browser.close();
    await dev.close();
    await killVmms(daemon.paths);
    await daemon.dispose();
    await rm(daemon.paths.dir, { recursive: true, force: true });
  });

  it('starts on the empty state', async () => {
    await page.getByTestId('empty-state').waitFor({ timeout: 10_000 });
    await shoot('dashboard-empty');
  });

  it('shows an invalid name on the name field, and a duplicate as hearthd words it', async () => {
    await page.getByTestId('empty-state').getByRole('button', { name: 'Create environment' }).click();
    const dialog = page.getByTestId('create-dialog');
    const name = dialog.getByLabel('Name');
    // The dialog moved focus into the form: typing goes to the name field without a click.
    await page.keyboard.type('Bad_Name');
    expect(await name.inputValue()).toBe('Bad_Name');
    // The class list is hearthd's (its built-in classes plus the test's `tiny`).
    expect(await dialog.getByLabel('Class').locator('option').allTextContents()).toContainEqual(
      expect.stringMatching(/^tiny — 1 CPU, 128 MiB/),
    );
    await dialog.getByLabel('Class').selectOption('tiny');
    expect(await dialog.getByLabel('Image').inputValue()).toBe('test-guest');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await dialog.getByTestId('error-name').waitFor();
    expect(await name.getAttribute('aria-invalid')).toBe('true');
    expect(await dialog.getByTestId('error-name').textContent()).toMatch(/lower-case letters/);
    await shoot('create-invalid-name');

    // Someone (here: another client of the same user) already took the name.
    const client = daemon.client();
    await client.call('createEnvironment', { body: { name: 'taken', class: 'tiny', start: false } });
    await client.close();
    await name.fill('taken');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await dialog.getByTestId('error-name').filter({ hasText: 'already exists' }).waitFor();
    await shoot('create-duplicate');
    // The other client's environment arrived by event, behind the dialog.
    await row('taken').waitFor();
  });

  it('creates web, which appears and reaches running', { timeout: BOOT_MS + 30_000 }, async () => {
    const dialog = page.getByTestId('create-dialog');
    await dialog.getByLabel('Name').fill('web');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await row('web').waitFor({ timeout: 10_000 });
    await dialog.waitFor({ state: 'hidden' });
    await waitForState('web', 'running');
    expect(await row('web').getByTestId('env-uptime').textContent()).toMatch(/^up \d+s$/);
    expect(await row('web').textContent()).toContain('test-guest');
    await shoot('dashboard-running');
  });

  it('stops and starts web', { timeout: 2 * BOOT_MS + 30_000 }, async () => {
    await row('web').getByRole('button', { name: 'Stop', exact: true }).click();
    await waitForState('web', 'stopped');
    expect(await row('web').getByTestId('env-uptime').textContent()).toBe('not running');
    await row('web').getByRole('button', { name: 'Start', exact: true }).click();
    await waitForState('web', 'running');
  });

  it('deletes web after confirmation, and not before', { timeout: 60_000 }, async () => {
    await row('web').getByRole('button', { name: 'Delete web' }).click();
    const confirm = page.getByTestId('confirm');
    await confirm.waitFor();
    // Cancel is focused first; Escape closes without deleting.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await shoot('delete-confirm');
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'hidden' });
    expect(await row('web').count()).toBe(1);

    await row('web').getByRole('button', { name: 'Delete web' }).click();
    await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
    await row('web').waitFor({ state: 'detached', timeout: 30_000 });
    const client = daemon.client();
    const left = await client.call('listEnvironments', {});
    await client.close();
    expect(left.environments.map((e) => e.name)).toEqual(['taken']);
    await shoot('dashboard-after-delete');
    expect(errors).toEqual([]);
  });
});
