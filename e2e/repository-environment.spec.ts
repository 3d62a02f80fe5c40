import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitServer, type GitServer } from '../helper/test/support/git-server/index.js';
import { addLocalAddress, Namespaces } from '../helper/test/network/support/topology.js';
import { DEBIAN_IMAGE_NAME } from '../helper/test/support/debian-image.js';
import { skipWhen } from '../helper/test/support/skip.js';
import { shootAndCheck } from './support/axe.js';
import { cannotRunGuiSpec, startGuiStack, type GuiStack } from './support/gui-stack.js';

const skip = cannotRunGuiSpec('repository environment');

/** A Debian guest under TCG on a loaded machine: boot, cloud-init and the clone. */
const BOOT_MS = 15 * 60_000;
const STEP_MS = 15_000;
/** The Git server's address: the namespace's own, which its guests reach through their gateway. */
const SERVER = '192.0.2.1';

/**
 * The whole path in the app, for real: as an ordinary member, add a token (with the test
 * server's CA) in Settings → Repository access, create an environment from the repository's
 * `feature` branch in the create form, watch it become `running` on the dashboard, and read its
 * repository, ref and commit on its details page — a real Debian guest (QEMU TCG) provisioned by
 * cloud-init, cloning through the guest channel from a real Git server in hearthd's namespace.
 * Run under the shared VM lock: flock /tmp/hearth-vm.lock npx vitest run e2e/repository-environment.spec.ts
 */
describe(
  'an environment from a repository, made in the app',
  { ...skipWhen(skip), timeout: BOOT_MS + 20 * STEP_MS },
  () => {
    let nss: Namespaces;
    let stack: GuiStack;
    let page: Page;
    let git: GitServer;

    beforeAll(async () => {
      nss = new Namespaces();
      const ns = await nss.add('gui');
      await addLocalAddress(ns, `${SERVER}/32`);
      stack = await startGuiStack('hearth-repo-env-', '#/', { netns: ns, debianImage: true });
      page = stack.page;
      const client = stack.daemon.client();
      await client.call('updateConfig', { body: { minimumMemoryMiB: 512 } });
      await client.call('putClass', { params: { name: 'dev' }, body: { cpus: 1, memoryMiB: 768, diskGiB: 4 } });
      await client.close();
      git = await startGitServer({ netns: ns, address: SERVER });
      await git.createRepository('site', { branches: ['main', 'feature'] });
    }, BOOT_MS);

    afterAll(async () => {
      const quietly = (step: () => Promise<unknown>) =>
        Promise.resolve()
          .then(step)
          .catch(() => undefined);
      await quietly(() => git.stop());
      await quietly(async () => (stack as GuiStack | undefined)?.dispose());
      await quietly(() => nss.destroy());
    });

    it('adds a token, creates from the repository, and shows its ref and commit once it runs', async () => {
      await page.evaluate(() => (location.hash = '#/settings/repositories'));
      const form = page.getByTestId('repository-access').getByTestId('token-form');
      await form.getByLabel('Git host').fill(SERVER);
      await form.getByLabel('Token', { exact: true }).fill(git.https.token);
      await form.getByText('Self-hosted server with its own certificate authority').click();
      await form.getByLabel('CA certificate (PEM, optional)').fill(git.https.caPem);
      await form.getByRole('button', { name: 'Add token' }).click();
      await form.getByTestId('credential-added').waitFor({ timeout: STEP_MS });

      await page.evaluate(() => (location.hash = '#/'));
      await page.getByTestId('empty-state').getByRole('button', { name: 'Create environment' }).click();
      const dialog = page.getByTestId('create-dialog');
      await dialog.getByLabel('Name').fill('site');
      await dialog.getByLabel('Class').selectOption('dev');
      await dialog.getByLabel('Image').selectOption(DEBIAN_IMAGE_NAME);
      await dialog.getByLabel('Repository URL (optional)').fill(git.https.url('site'));
      const ref = dialog.getByLabel('Ref (optional)');
      await ref.fill('feature');
      // The branches the check found are offered for the ref (the token works).
      await dialog.locator('datalist option[value="feature"]').waitFor({ state: 'attached', timeout: 60_000 });
      await dialog.getByRole('button', { name: 'Create', exact: true }).click();

      const row = page.locator('[data-env="site"]');
      await row.waitFor({ timeout: STEP_MS });
      await page.locator('[data-env="site"][data-state="running"]').waitFor({ timeout: BOOT_MS });
      const feature = await git.head('site', 'feature');
      expect(await row.getByTestId('env-repository').textContent()).toContain(feature.slice(0, 7));

      await page.getByRole('link', { name: 'site', exact: true }).click();
      const card = page.getByTestId('repository');
      await card.waitFor({ timeout: STEP_MS });
      expect(await card.getAttribute('data-clone')).toBe('done');
      expect(await card.getByTestId('repository-url').textContent()).toBe(git.https.url('site'));
      expect(await card.getByTestId('repository-ref').textContent()).toBe('feature');
      expect(await card.getByTestId('repository-commit').textContent()).toBe(feature);
      await shootAndCheck(page, 'details-repository');
      expect(stack.pageErrors).toEqual([]);
    });
  },
);
