import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HearthdClient } from '#protocol/client';
import { installTestImage } from '../helper/test/support/environments.js';
import { shootAndCheck } from './support/axe.js';
import { cannotRunGuiSpec, startGuiStack, type GuiStack } from './support/gui-stack.js';
import { skipWhen } from '../helper/test/support/skip.js';

const skip = cannotRunGuiSpec('errors');

/** The test guest with a ready marker it never prints: hearthd ends it as failed at the boot timeout. */
const SILENT_IMAGE = 'silent-guest';
const NEVER_PRINTED = 'HEARTH-E2E-THIS-LINE-NEVER-APPEARS';
const BOOT_TIMEOUT_S = 6;
/** More memory than any machine running these tests has (the schema's largest class). */
const HUGE_MIB = 4 * 1024 * 1024;

/**
 * hearthd's refusals and failures, shown where the user meets them rather than swallowed, against
 * a real hearthd booting real QEMU TCG VMs, the bridge as a plain `hearth` member: an admission
 * refusal for memory on the Class field with its shortfall, a per-user limit on the form, and an
 * environment that failed, with hearthd's reason on its row and on its details page. (Invalid name
 * and duplicate: e2e/dashboard.spec.ts.)
 * Run under the shared VM lock: flock /tmp/hearth-vm.lock npx vitest run e2e/errors.spec.ts
 */
describe('errors in place against a real hearthd', skipWhen(skip), () => {
  let stack: GuiStack;
  let page: Page;

  const asRoot = async <T>(use: (client: HearthdClient) => Promise<T>): Promise<T> => {
    const client = stack.daemon.client();
    try {
      return await use(client);
    } finally {
      await client.close();
    }
  };
  const dialog = (): Locator => page.getByTestId('create-dialog');
  const fillCreate = async (name: string, cls: string, image?: string) => {
    await dialog().getByLabel('Name').fill(name);
    await dialog().getByLabel('Class').selectOption(cls);
    if (image !== undefined) await dialog().getByLabel('Image').selectOption(image);
    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
  };

  beforeAll(async () => {
    stack = await startGuiStack('hearth-errors-');
    page = stack.page;
    // As an administrator would: an image through `hearthd install-image`, a class and settings through the API.
    await installTestImage(stack.daemon.paths, { name: SILENT_IMAGE, readyMarker: NEVER_PRINTED });
    await asRoot(async (client) => {
      await client.call('updateConfig', { body: { bootTimeoutSeconds: BOOT_TIMEOUT_S } });
      await client.call('putClass', {
        params: { name: 'huge' },
        body: { cpus: 1, memoryMiB: HUGE_MIB, diskGiB: 2, description: 'More memory than this machine has' },
      });
      expect((await client.call('listImages')).images.map((i) => i.name)).toContain(SILENT_IMAGE);
    });
    await page.getByTestId('empty-state').waitFor({ timeout: 15_000 });
  }, 180_000);

  afterAll(async () => {
    // Unset when beforeAll failed: its own cleanup already ran.
    await (stack as GuiStack | undefined)?.dispose();
  });

  it('shows an admission refusal for memory on the Class field, with the shortfall', async () => {
    await page.getByTestId('empty-state').getByRole('button', { name: 'Create environment' }).click();
    await fillCreate('big', 'huge');
    const error = dialog().getByTestId('error-class');
    await error.waitFor({ timeout: 10_000 });
    const text = (await error.textContent()) ?? '';
    // hearthd's words: what it needs, what is free, and by how much it falls short.
    expect(text).toMatch(/^Not enough memory: this environment needs \d+ MiB/);
    const short = Number(/short by (\d+) MiB/.exec(text)?.[1]);
    expect(short).toBeGreaterThan(0);
    expect(short).toBeLessThanOrEqual(HUGE_MIB + 100);
    expect(await dialog().getByLabel('Class').getAttribute('aria-invalid')).toBe('true');
    // The Class field names its error, so a screen reader reads it with the field.
    const describedBy = await dialog().getByLabel('Class').getAttribute('aria-describedby');
    expect(describedBy).toBe(await error.getAttribute('id'));
    expect(await dialog().getByLabel('Name').getAttribute('aria-invalid')).toBe('false');
    expect(await dialog().getByTestId('create-error').count()).toBe(0);
    // Refused, not created.
    expect((await asRoot((c) => c.call('listEnvironments', {}))).environments).toEqual([]);
    await shootAndCheck(page, 'create-refused-memory');
  });

  it('shows a failed environment with hearthd’s reason, on its row and its details', { timeout: 120_000 }, async () => {
    await fillCreate('mute', 'tiny', SILENT_IMAGE);
    await dialog().waitFor({ state: 'hidden', timeout: 10_000 });
    const row = page.locator('[data-env="mute"]');
    await page.locator('[data-env="mute"][data-state="failed"]').waitFor({ timeout: 90_000 });
    const reason = (await asRoot((c) => c.call('getEnvironment', { params: { id: 'mute' } }))).reason;
    expect(reason).toContain(`did not print its ready marker (${NEVER_PRINTED}) within ${BOOT_TIMEOUT_S} s`);
    expect(await row.getByTestId('env-state').textContent()).toMatch(/failed/i);
    expect(await row.getByTestId('env-reason').textContent()).toBe(reason);
    await shootAndCheck(page, 'dashboard-failed');

    await row.getByRole('link', { name: 'mute', exact: true }).click();
    await page.locator('[data-testid="env-header"][data-state="failed"]').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('env-reason').textContent()).toContain(reason!);
    await page.getByTestId('timeline').locator('[data-event="vmm-launched"]').waitFor({ timeout: 10_000 });
    await shootAndCheck(page, 'details-failed');
  });

  it('shows a per-user limit on the form, in hearthd’s words', async () => {
    // mute, failed, still counts: it keeps its disk.
    await asRoot((c) => c.call('updateConfig', { body: { maxEnvironmentsPerOwner: 1 } }));
    await page.evaluate(() => (location.hash = '#/'));
    await page.getByRole('button', { name: 'Create environment' }).click();
    await fillCreate('second', 'tiny');
    const error = dialog().getByTestId('create-error');
    await error.waitFor({ timeout: 10_000 });
    expect(await error.getAttribute('role')).toBe('alert');
    expect(await error.textContent()).toContain('the limit per user is 1 (setting maxEnvironmentsPerOwner)');
    expect(await dialog().getByTestId('error-name').count()).toBe(0);
    await shootAndCheck(page, 'create-refused-limit');
    await dialog().getByRole('button', { name: 'Cancel' }).click();
    await dialog().waitFor({ state: 'hidden' });
    const names = (await asRoot((c) => c.call('listEnvironments', {}))).environments.map((e) => e.name);
    expect(names).toEqual(['mute']);
    expect(stack.pageErrors).toEqual([]);
  });
});
