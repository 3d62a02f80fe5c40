import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTunLikeDistributions } from '../helper/test/support/tun.js';
import { addTinyClass, installTestImage, TEST_IMAGE } from '../helper/test/support/environments.js';
import { HearthdProcess, makePaths } from '../helper/test/support/hearthd-process.js';
import { requestAs } from '../helper/test/support/request-as.js';
import { expectNoSeriousViolations, shootAndCheck } from './support/axe.js';
import { launchChromium, openRoute } from './support/browser.js';
import { cannotRunGuiSpec } from './support/gui-stack.js';
import {
  ADMIN_MEMBER,
  ensureMember,
  processIdentity,
  startMemberBridge,
  type MemberBridge,
} from './support/member-bridge.js';
import { skipWhen } from '../helper/test/support/skip.js';

const skip = cannotRunGuiSpec('settings');

/** The read-only note's words (renderer/src/features/settings/AdminNote.tsx): who may change it. */
const WHO_MAY_CHANGE = 'Only root or members of hearth-admin can change this.';

/**
 * The setup wizard and the settings page in Chromium (browser mode) against a real hearthd (no VM
 * needed), through two bridges as a user's machine has them: one as a plain `hearth` member, one
 * as a member of `hearth-admin`, each its own non-root process. The wizard shows this machine's
 * real report; a member reads classes and the hypervisor and is told who may change them; an
 * admin edits them through hearthd; a helper that stops mid-session is shown as stopped and comes
 * back without a reload.
 * Run under the shared lock: flock /tmp/hearth-vm.lock npx vitest run e2e/settings.spec.ts
 */
describe('setup wizard and settings against a real hearthd', skipWhen(skip), () => {
  let daemon: HearthdProcess;
  let memberBridge: MemberBridge;
  let adminBridge: MemberBridge;
  let browser: Browser;
  /** The plain member's app, and the admin's. */
  let member: Page;
  let admin: Page;
  const errors: string[] = [];
  /** What beforeAll started, undone in reverse (also when it failed half-way). */
  const cleanup: Array<() => Promise<unknown>> = [];

  const root = async <T>(use: (client: ReturnType<HearthdProcess['client']>) => Promise<T>): Promise<T> => {
    const client = daemon.client();
    try {
      return await use(client);
    } finally {
      await client.close();
    }
  };
  const openPage = async (bridge: MemberBridge, route: string) => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    page.on('pageerror', (e) => errors.push(String(e)));
    await openRoute(page, bridge.url, route);
    return page;
  };

  beforeAll(async () => {
    // Both users first: hearthd gives its socket the hearth group only if it exists when it starts.
    const plain = await ensureMember();
    const administrator = await ensureMember(ADMIN_MEMBER);
    const paths = await makePaths('hearth-settings-');
    cleanup.push(() => rm(paths.dir, { recursive: true, force: true }));
    // Two images: one an environment uses (so deleting it is refused), one free to delete.
    await installTestImage(paths);
    await installTestImage(paths, { name: 'spare-image' });
    // The wizard's report is compared with a fresh one: hold tun at the distributions' mode so
    // another test file releasing it cannot change the report between the two.
    cleanup.push(await useTunLikeDistributions());
    daemon = await HearthdProcess.start(paths);
    // The daemon the spec ends with: the last test restarts it.
    cleanup.push(() => daemon.dispose());
    await root((client) => addTinyClass(client));
    // The member's SSH setup from an earlier run would hide the "no key yet" this spec starts from.
    await rm(join(plain.home, '.config/hearth'), { recursive: true, force: true });
    await rm(join(plain.home, '.ssh'), { recursive: true, force: true });
    memberBridge = await startMemberBridge(paths.socket, plain);
    cleanup.push(() => memberBridge.close());
    adminBridge = await startMemberBridge(paths.socket, administrator);
    cleanup.push(() => adminBridge.close());
    browser = await launchChromium();
    cleanup.push(() => browser.close());
    member = await openPage(memberBridge, '#/setup');
    admin = await openPage(adminBridge, '#/settings');
  }, 120_000);

  afterAll(async () => {
    for (const undo of cleanup.reverse()) await undo().catch((e: unknown) => console.warn(`cleanup: ${String(e)}`));
  });

  it('runs both bridges as non-root users, only one of them in hearth-admin', async () => {
    for (const bridge of [memberBridge, adminBridge]) {
      const { uids } = await processIdentity(bridge.pid);
      expect(bridge.member.uid).not.toBe(0);
      expect(uids).toEqual(Array(4).fill(bridge.member.uid));
    }
    expect(memberBridge.member.uid).not.toBe(adminBridge.member.uid);
  });

  it('walks the wizard by keyboard; the machine check is this machine’s real report', async () => {
    const page = member;
    await page.getByTestId('setup-step-welcome').waitFor();
    await shootAndCheck(page, 'wizard-welcome');
    await page.getByRole('button', { name: 'Next: Machine check' }).focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('setup-step-machine').waitFor();
    // Focus moved to the step heading, so a screen reader announces where the user is.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Machine check');

    const report = await root((client) => client.call('getHost', { query: {} }));
    await page.getByTestId('verdict-reason').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('verdict-reason').textContent()).toBe(report.reason);
    const shown = await page
      .locator('[data-check]')
      .evaluateAll((els) => els.map((el) => [el.getAttribute('data-check'), el.getAttribute('data-status')]));
    expect(new Map(shown as [string, string][])).toEqual(new Map(report.checks.map((c) => [c.id, c.status])));
    for (const check of report.checks.filter((c) => c.remedy?.command !== undefined))
      expect(await page.locator(`[data-check="${check.id}"] .command code`).textContent()).toBe(check.remedy!.command);
    await page.getByRole('button', { name: 'Check again' }).click();
    await page.getByRole('button', { name: 'Check again' }).waitFor();
    await shootAndCheck(page, 'wizard-machine');

    await page.getByRole('button', { name: 'Next: Install the helper' }).click();
    await page.locator('[data-testid="connection"][data-state="connected"]').waitFor();
    await shootAndCheck(page, 'wizard-helper');
    await page.getByRole('button', { name: 'Next: An image' }).click();
    await page.getByTestId('setup-step-images').waitFor();
    // hearthd's own catalog (nothing is fetched until Download; it may offer none) and the installed images.
    await page
      .locator('[data-testid="catalog"] [data-catalog], [data-testid="catalog-empty"]')
      .first()
      .waitFor({ timeout: 10_000 });
    await page.getByTestId('installed-images').locator(`[data-image="${TEST_IMAGE}"]`).waitFor();
    await shootAndCheck(page, 'wizard-images');
    // Optional, and skipped here (e2e/repositories.spec.ts fills it in).
    await page.getByRole('button', { name: 'Next: Repository access' }).click();
    await page.getByTestId('setup-step-repositories').waitFor();
    await page.getByRole('button', { name: 'Next: Done' }).click();
    await page.getByTestId('setup-summary').waitFor();
    const complete = report.verdict !== 'not-ready';
    expect(await page.getByRole('heading', { level: 2 }).textContent()).toBe(
      complete ? 'Hearth is ready' : 'Almost there',
    );
    await shootAndCheck(page, 'wizard-done');
  });

  it('shows a member classes and the hypervisor read-only, saying who can change them', async () => {
    const page = member;
    await page.evaluate(() => (location.hash = '#/settings'));
    const classes = page.getByTestId('classes');
    const hypervisor = page.getByTestId('hypervisor');
    await classes.locator('[data-class="tiny"]').waitFor({ timeout: 10_000 });
    // hearthd's /v1/me answered "not admin" for this member: each admin-only section says so.
    await classes.getByTestId('admin-only').waitFor({ timeout: 10_000 });
    expect(await classes.getByTestId('admin-only').textContent()).toContain(WHO_MAY_CHANGE);
    expect(await hypervisor.getByTestId('admin-only').textContent()).toContain(WHO_MAY_CHANGE);
    // Nothing to edit with: no New, Edit or Delete, and the choices are disabled.
    expect(await classes.getByRole('button').count()).toBe(0);
    for (const name of ['hypervisor', 'accel']) {
      const group = page.getByTestId(`choice-${name}`);
      expect(await group.evaluate((el) => (el as HTMLFieldSetElement).disabled)).toBe(true);
      expect(await group.locator('input:checked').count()).toBe(1);
    }
    // Images: listed with what they are, but neither deletable nor downloadable by a member.
    const images = page.getByTestId('images');
    await images.locator(`[data-image="${TEST_IMAGE}"]`).waitFor({ timeout: 10_000 });
    expect(await images.getByTestId('admin-only').textContent()).toContain(WHO_MAY_CHANGE);
    expect(await images.getByRole('button', { name: /^Delete / }).count()).toBe(0);
    // The local build asks for the password instead: that is its gate, not hearthd's admin role.
    expect(await images.getByTestId('build-image').isDisabled()).toBe(false);
    await shootAndCheck(page, 'settings-member');
  });

  it('makes the member’s SSH key as the member, and adds and removes the Include with consent', async () => {
    const page = member;
    const { home, uid } = memberBridge.member;
    const ssh = page.getByTestId('ssh');
    await ssh.locator('[data-testid="ssh-key"][data-state="absent"]').waitFor({ timeout: 10_000 });
    await ssh.getByRole('button', { name: 'Create SSH key' }).click();
    await ssh.locator('[data-testid="ssh-key"][data-state="present"]').waitFor({ timeout: 10_000 });
    const key = await stat(join(home, '.config/hearth/id_ed25519'));
    // Made by the bridge's own process, so the member's, readable by no one else.
    expect([key.uid, key.mode & 0o777]).toEqual([uid, 0o600]);
    const pub = (await readFile(join(home, '.config/hearth/id_ed25519.pub'), 'utf8')).trim();
    expect(await ssh.locator('.ssh-public-key').textContent()).toBe(pub);
    await shootAndCheck(page, 'settings-ssh');

    await ssh.getByRole('button', { name: 'Add the Include line' }).click();
    await ssh.locator('[data-testid="ssh-include"][data-state="present"]').waitFor({ timeout: 5_000 });
    const config = await readFile(join(home, '.ssh/config'), 'utf8');
    expect(config.split('\n')[1]).toBe(`Include "${join(home, '.config/hearth/ssh_config')}"`);
    await ssh.getByRole('button', { name: 'Remove the Include line' }).click();
    await ssh.locator('[data-testid="ssh-include"][data-state="absent"]').waitFor({ timeout: 5_000 });
    expect(await readFile(join(home, '.ssh/config'), 'utf8')).toBe('');
  });

  it('lets an admin delete an unused image; one in use is refused, with hearthd’s reason on its row', async () => {
    const page = admin;
    // Created as the admin member: the `environment` event reaches its page, whose image list follows.
    const asAdmin = async (method: string, path: string, body?: unknown) => {
      const groups = (await execa('id', ['-G', adminBridge.member.name])).stdout.split(' ').map(Number);
      return requestAs(daemon.paths.socket, adminBridge.member.uid, method, path, body, groups);
    };
    const created = await asAdmin('POST', '/v1/environments', {
      name: 'user-of-image',
      class: 'tiny',
      image: TEST_IMAGE,
      start: false,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const images = page.getByTestId('images');
    const used = images.locator(`[data-image="${TEST_IMAGE}"]`);
    await used.getByTestId('used-by').filter({ hasText: '1 environment' }).waitFor({ timeout: 5_000 });
    await used.getByRole('button', { name: `Delete ${TEST_IMAGE}` }).click();
    expect(await used.getByTestId('image-delete-error').textContent()).toContain('is used by 1 environment');
    await shootAndCheck(page, 'settings-images-in-use');
    await images.getByRole('button', { name: 'Delete spare-image' }).click();
    await images.locator('[data-image="spare-image"]').waitFor({ state: 'detached', timeout: 5_000 });
    const names = (await root((c) => c.call('listImages'))).images.map((i) => i.name);
    expect(names).toEqual([TEST_IMAGE]);
    expect((await asAdmin('DELETE', '/v1/environments/user-of-image')).status).toBeLessThan(300);
  });

  it('lets an admin edit a class: an invalid value is marked on its field, a valid one is saved', async () => {
    const page = admin;
    const classes = page.getByTestId('classes');
    await classes.locator('[data-class="tiny"]').waitFor({ timeout: 10_000 });
    await classes.getByRole('button', { name: 'Edit tiny' }).waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('admin-only').count()).toBe(0);
    await page.getByTestId('choice-hypervisor').waitFor();
    await shootAndCheck(page, 'settings');

    await classes.getByRole('button', { name: 'Edit tiny' }).click();
    const dialog = page.getByTestId('class-dialog');
    await dialog.getByLabel('CPUs').fill('0');
    await dialog.getByRole('button', { name: 'Save class' }).click();
    expect(await dialog.getByTestId('class-error-cpus').textContent()).toBe('A whole number of CPUs, 1 to 256.');
    expect(await dialog.getByLabel('CPUs').getAttribute('aria-invalid')).toBe('true');
    // What only hearthd knows (this machine's CPU count) comes back from it, on the same field.
    await dialog.getByLabel('CPUs').fill('256');
    await dialog.getByRole('button', { name: 'Save class' }).click();
    await dialog.getByTestId('class-error-cpus').filter({ hasText: 'this machine has' }).waitFor();
    await shootAndCheck(page, 'settings-class-invalid');

    await dialog.getByLabel('CPUs').fill('1');
    await dialog.getByLabel('Description').fill('Edited from the settings page');
    await dialog.getByRole('button', { name: 'Save class' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await classes.locator('[data-class="tiny"]', { hasText: 'Edited from the settings page' }).waitFor();
    expect((await root((c) => c.call('getClass', { params: { name: 'tiny' } }))).description).toBe(
      'Edited from the settings page',
    );
    // The member's open page follows hearthd's `classes` event.
    await member
      .getByTestId('classes')
      .locator('[data-class="tiny"]', { hasText: 'Edited from the settings page' })
      .waitFor({ timeout: 5_000 });

    // Created by another client: the list follows hearthd's `classes` event.
    await root((c) =>
      c.call('putClass', { params: { name: 'spare' }, body: { cpus: 1, memoryMiB: 2048, diskGiB: 2 } }),
    );
    await classes.locator('[data-class="spare"]').waitFor({ timeout: 5_000 });
  });

  it('lets an admin choose the accelerator, which hearthd saves', async () => {
    const accel = admin.getByTestId('choice-accel');
    expect(await accel.evaluate((el) => (el as HTMLFieldSetElement).disabled)).toBe(false);
    const before = (await root((c) => c.call('getConfig'))).settings.accel;
    const wanted = before === 'tcg' ? 'auto' : 'tcg';
    // click, not check(): the radio is controlled by hearthd's answer, so it turns on only after the save.
    await accel.locator(`input[value="${wanted}"]`).click();
    await accel.locator(`input[value="${wanted}"]:checked:enabled`).waitFor({ timeout: 5_000 });
    expect((await root((c) => c.call('getConfig'))).settings.accel).toBe(wanted);
    expect(await admin.getByTestId('config-error').count()).toBe(0);
  });

  it('lets an admin delete a class after confirmation', async () => {
    const classes = admin.getByTestId('classes');
    await classes.getByRole('button', { name: 'Delete spare' }).click();
    await admin.getByTestId('confirm').getByRole('button', { name: 'Delete class' }).click();
    await classes.locator('[data-class="spare"]').waitFor({ state: 'detached', timeout: 5_000 });
    const names = (await root((c) => c.call('listClasses'))).classes.map((c) => c.name);
    expect(names).not.toContain('spare');
  });

  it('shows the stopped helper within seconds, and recovers without a reload', async () => {
    const page = admin;
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 7));
    const stoppedAt = Date.now();
    await daemon.stop();
    await page.locator('[data-testid="helper-state"][data-state="stopped"]').waitFor({ timeout: 5_000 });
    const offlineAfterMs = Date.now() - stoppedAt;
    expect(offlineAfterMs).toBeLessThan(5_000);
    console.log(`offline state shown ${offlineAfterMs} ms after hearthd stopped`);
    await page.locator('[data-testid="helper-dot"][data-state="stopped"]').waitFor();
    await member.locator('[data-testid="helper-dot"][data-state="stopped"]').waitFor({ timeout: 5_000 });
    expect(await page.getByTestId('helper-state').textContent()).toContain('sudo systemctl start hearthd');
    await shootAndCheck(page, 'settings-helper-stopped');

    const restartedAt = Date.now();
    daemon = await HearthdProcess.start(daemon.paths);
    await page.locator('[data-testid="helper-dot"][data-state="connected"]').waitFor({ timeout: 8_000 });
    console.log(`connected again ${Date.now() - restartedAt} ms after hearthd was started`);
    expect(await page.getByTestId('helper-state').count()).toBe(0);
    await page.getByTestId('classes').locator('[data-class="tiny"]').waitFor();
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
    // The member's bridge reconnects too, still as the member: still read-only.
    await member.locator('[data-testid="helper-dot"][data-state="connected"]').waitFor({ timeout: 8_000 });
    await member.getByTestId('classes').getByTestId('admin-only').waitFor();
    await expectNoSeriousViolations(member, 'settings-member after reconnect');
    expect(errors).toEqual([]);
  });
});
