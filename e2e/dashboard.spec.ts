import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HearthdProcess } from '../helper/test/support/hearthd-process.js';
import { shootAndCheck } from './support/axe.js';
import { cannotRunGuiSpec, startGuiStack, type GuiStack } from './support/gui-stack.js';
import { processIdentity } from './support/member-bridge.js';
import { skipWhen } from '../helper/test/support/skip.js';

const skip = cannotRunGuiSpec('dashboard');

/** A TCG boot of the test guest takes seconds; two shared cores can make it slower. */
const BOOT_MS = 90_000;

/**
 * The dashboard in Chromium (browser mode) against a real hearthd that boots real QEMU TCG VMs,
 * with the bridge running as an ordinary `hearth` member, as on a user's machine: every state the
 * page shows is one hearthd reported to that member, pushed through its event stream. Each screen
 * is shot and checked by axe in light and dark.
 * Run under the shared VM lock: flock /tmp/hearth-vm.lock npx vitest run e2e/dashboard.spec.ts
 */
describe('environments dashboard against a real hearthd', skipWhen(skip), () => {
  let stack: GuiStack;
  let daemon: HearthdProcess;
  let page: Page;

  const row = (name: string): Locator => page.locator(`[data-env="${name}"]`);
  const waitForState = (name: string, state: string, timeout = BOOT_MS) =>
    page.locator(`[data-env="${name}"][data-state="${state}"]`).waitFor({ timeout });

  beforeAll(async () => {
    stack = await startGuiStack('hearth-dash-');
    ({ daemon, page } = stack);
  }, 180_000);

  afterAll(async () => {
    // Unset when beforeAll failed: its own cleanup already ran.
    await (stack as GuiStack | undefined)?.dispose();
  });

  it('runs the bridge as a non-root hearth member', async () => {
    const { uids, groups } = await processIdentity(stack.bridge.pid);
    expect(stack.bridge.member.uid).not.toBe(0);
    // Real, effective, saved and filesystem uid: nothing of root is left to fall back on.
    expect(uids).toEqual(Array(4).fill(stack.bridge.member.uid));
    expect(groups).toContain(stack.bridge.member.socketGid);
  });

  it('starts on the empty state', async () => {
    await page.getByTestId('empty-state').waitFor({ timeout: 10_000 });
    await shootAndCheck(page, 'dashboard-empty');
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
    await shootAndCheck(page, 'create-invalid-name');

    // Someone else (root, through its own client) already took the name: names are the machine's.
    const client = daemon.client();
    await client.call('createEnvironment', { body: { name: 'taken', class: 'tiny', start: false } });
    await client.close();
    await name.fill('taken');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await dialog.getByTestId('error-name').filter({ hasText: 'already exists' }).waitFor();
    await shootAndCheck(page, 'create-duplicate');
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
    // hearthd took the creator from the kernel: the member, not root, owns web.
    const client = daemon.client();
    expect((await client.call('getEnvironment', { params: { id: 'web' } })).owner.uid).toBe(stack.bridge.member.uid);
    await client.close();
    // Root's environment is not the member's to see: the list has web only.
    expect(await page.locator('[data-env]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-env')))).toEqual(
      ['web'],
    );
    await shootAndCheck(page, 'dashboard-running');
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
    await shootAndCheck(page, 'delete-confirm');
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
    await page.getByTestId('empty-state').waitFor();
    await shootAndCheck(page, 'dashboard-after-delete');
    expect(stack.pageErrors).toEqual([]);
  });
});
