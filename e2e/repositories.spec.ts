import { createHash } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRepositoryUrl } from '#protocol';
import type { HearthdProcess } from '../helper/test/support/hearthd-process.js';
import { startGitServer, type GitServer } from '../helper/test/support/git-server/index.js';
import { requestAs } from '../helper/test/support/request-as.js';
import { skipWhen } from '../helper/test/support/skip.js';
import { shootAndCheck } from './support/axe.js';
import { cannotRunGuiSpec, startGuiStack, type GuiStack } from './support/gui-stack.js';

const skip = cannotRunGuiSpec('repositories');

/** A token only this spec uses: found anywhere it should not be, it names its leak. */
const TOKEN = 'hearth-e2e-token-7c1f9a2b4d6e8f0a';
/**
 * A repository nothing listens for (the discard port on loopback): the check's outcome is
 * hearthd's to word (unreachable), and nothing leaves the machine.
 */
const NOWHERE = 'https://127.0.0.1:9/ada/site.git';
/**
 * Waits sized for a loaded 2-core machine (several helpers' tests at once), where a step takes many
 * times what it takes alone: one access check (hearthd runs git ls-remote as an unprivileged user,
 * through its askpass or ssh; about a second when idle), and one step of the page (a click, a
 * re-render, a re-fetch).
 */
const CHECK_MS = 60_000;
const STEP_MS = 15_000;
/**
 * Each test's budget, the backstop behind the waits above: the longest (the SSH key's) starts the
 * Git server, makes a key, and runs three checks, with a dozen page steps and two shots with axe.
 */
const TEST_MS = 4 * CHECK_MS + 12 * STEP_MS;

/**
 * Repository access in Chromium (browser mode) against a real hearthd, with the bridge as an
 * ordinary `hearth` member: the create form judges repository URLs as they are typed (the parser
 * hearthd uses) and sends none it refuses; Settings → Repository access, its profile and the
 * wizard's step are shot and checked by axe. Adding a token, checking it, the profile and removing
 * need hearthd's repository handlers: against a build without them (it answers 503 "not available
 * in this build") those tests skip, saying so.
 * Run under the shared VM lock: flock /tmp/hearth-vm.lock npx vitest run e2e/repositories.spec.ts
 */
describe('repository access in the app against a real hearthd', { ...skipWhen(skip), timeout: TEST_MS }, () => {
  let stack: GuiStack;
  let daemon: HearthdProcess;
  let page: Page;
  /** Why hearthd cannot serve repository access (a build without the handlers), or undefined. */
  let handlersMissing: string | undefined;
  /** The test Git server (HTTPS with its own CA and a token; key-only sshd), started when needed. */
  let git: GitServer | undefined;

  const asMember = (method: string, path: string) =>
    requestAs(daemon.paths.socket, stack.bridge.member.uid, method, path, undefined, [stack.bridge.member.socketGid]);

  beforeAll(async () => {
    stack = await startGuiStack('hearth-repos-');
    ({ daemon, page } = stack);
    const probe = await asMember('GET', '/v1/credentials');
    handlersMissing =
      probe.status === 200
        ? undefined
        : `hearthd answers ${probe.status} to GET /v1/credentials: ${String(probe.body.message)}`;
    if (handlersMissing !== undefined)
      console.warn(`repositories e2e: needs the repository handlers (${handlersMissing})`);
  }, 180_000);

  afterAll(async () => {
    await git?.stop();
    await (stack as GuiStack | undefined)?.dispose();
  });

  const settingsSection = async () => {
    await page.evaluate(() => {
      location.hash = '#/settings/repositories';
    });
    const section = page.getByTestId('repository-access');
    await section.waitFor();
    return section;
  };
  const gitServer = async (): Promise<GitServer> => {
    if (!git) {
      git = await startGitServer();
      await git.createRepository('site');
    }
    return git;
  };

  it('the create form judges a repository URL as it is typed, and sends none it refuses', async () => {
    await page.getByTestId('empty-state').waitFor({ timeout: 10_000 });
    await page.getByTestId('empty-state').getByRole('button', { name: 'Create environment' }).click();
    const dialog = page.getByTestId('create-dialog');
    await dialog.getByLabel('Name').fill('repo');
    await dialog.getByLabel('Class').selectOption('tiny');
    const url = dialog.getByLabel('Repository URL (optional)');
    for (const hostile of [
      'file:///etc/passwd',
      'ext::sh -c touch% /tmp/pwned',
      'http://github.com/ada/site.git',
      'https://ada:ghp_secret@github.com/ada/site.git',
      'ssh://-oProxyCommand=touch%20x/ada/site.git',
      '--upload-pack=touch x',
    ]) {
      const verdict = parseRepositoryUrl(hostile);
      if (verdict.ok) throw new Error(`parseRepositoryUrl accepts ${hostile}`);
      await url.fill(hostile);
      expect(await dialog.getByTestId('error-repository').textContent()).toBe(verdict.reason);
      expect(await url.getAttribute('aria-invalid')).toBe('true');
      expect(await dialog.getByLabel('Ref (optional)').isDisabled()).toBe(true);
    }
    await shootAndCheck(page, 'create-repository-invalid');
    // Sent anyway: the form keeps it, says why, and puts focus on it; hearthd sees nothing.
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('repository');
    const client = daemon.client();
    expect((await client.call('listEnvironments', {})).environments).toEqual([]);
    await client.close();

    // A valid one: the directory it would be cloned into, then what the check for branches found.
    await url.fill(NOWHERE);
    expect(await url.getAttribute('aria-invalid')).toBe('false');
    expect(await dialog.getByTestId('repo-fields').textContent()).toContain('/workspace/site');
    await dialog.locator('[data-testid="repo-check"]:not([data-state="checking"])').waitFor({ timeout: CHECK_MS });
    const state = await dialog.getByTestId('repo-check').getAttribute('data-state');
    if (handlersMissing !== undefined) {
      expect(state).toBe('unavailable');
      expect(await dialog.getByTestId('repo-check').textContent()).toContain('not available in this build');
    } else expect(state).not.toBe('ok');
    await shootAndCheck(page, 'create-repository');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('Settings → Repository access: the address names the section and focus lands on it', async () => {
    await page.evaluate(() => {
      location.hash = '#/settings/repositories';
    });
    const section = page.getByTestId('repository-access');
    await section.waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'repository-access-title');
    if (handlersMissing !== undefined) await section.getByTestId('credentials-error').waitFor();
    else await section.getByTestId('credentials-empty').waitFor();
    expect(await section.getByLabel('Token', { exact: true }).getAttribute('type')).toBe('password');
    await shootAndCheck(page, 'settings-repositories');
  });

  it('the wizard offers repository access as an optional step', async () => {
    await page.evaluate(() => {
      location.hash = '#/setup/repositories';
    });
    const step = page.getByTestId('setup-step-repositories');
    await step.getByTestId('token-form').waitFor();
    expect(await step.textContent()).toContain('You can skip this');
    await shootAndCheck(page, 'wizard-repositories');
  });

  it('adds a token write-only, checks access with it, and removes it after a confirm', async (ctx) => {
    if (handlersMissing !== undefined) ctx.skip(`needs hearthd's repository handlers: ${handlersMissing}`);
    await page.evaluate(() => {
      location.hash = '#/settings/repositories';
    });
    const section = page.getByTestId('repository-access');
    const form = section.getByTestId('token-form');
    await form.getByLabel('Git host').fill('127.0.0.1:9');
    await form.getByLabel('Token', { exact: true }).fill(TOKEN);
    await form.getByRole('button', { name: 'Add token' }).click();
    await form.getByTestId('credential-added').waitFor();
    expect(await form.getByLabel('Token', { exact: true }).inputValue()).toBe('');
    await section.locator('[data-credential="127.0.0.1:9"]').waitFor();
    // Write-only: neither the page nor hearthd's answer to the member shows it again.
    expect(await page.content()).not.toContain(TOKEN);
    const listed = await asMember('GET', '/v1/credentials');
    expect(JSON.stringify(listed.body)).not.toContain(TOKEN);
    await shootAndCheck(page, 'settings-repositories-token');

    const check = section.getByTestId('check-access');
    await check.getByLabel('Repository URL').fill(NOWHERE);
    await check.getByRole('button', { name: 'Check access' }).click();
    const result = check.getByTestId('access-check');
    await result.waitFor({ timeout: CHECK_MS });
    // Nothing listens there: whatever hearthd calls it, it is not "ok", and the credential's last
    // check (hearthd's record, re-read by the page) says the same.
    const code = await result.getAttribute('data-code');
    expect(code).not.toBe('ok');
    const after = (await asMember('GET', '/v1/credentials')).body as {
      credentials: { host: string; lastCheck: { code: string; message: string } | null }[];
    };
    const stored = after.credentials.find((c) => c.host === '127.0.0.1:9');
    expect(stored?.lastCheck?.code).toBe(code);
    await section
      .locator('[data-credential="127.0.0.1:9"] [data-testid="credential-last-check"]')
      .filter({ hasText: stored!.lastCheck!.message })
      .waitFor();
    await shootAndCheck(page, 'settings-repositories-check');

    await section.getByRole('button', { name: 'Remove the Token (HTTPS) for 127.0.0.1:9' }).click();
    const confirm = page.locator('dialog[open][data-testid="confirm"]');
    await confirm.getByRole('button', { name: 'Remove' }).click();
    await section.getByTestId('credentials-empty').waitFor();
    expect(((await asMember('GET', '/v1/credentials')).body as { credentials: unknown[] }).credentials).toEqual([]);
  });

  it('saves the git identity in the profile', async (ctx) => {
    if (handlersMissing !== undefined) ctx.skip(`needs hearthd's repository handlers: ${handlersMissing}`);
    await page.evaluate(() => {
      location.hash = '#/settings';
    });
    const form = page.getByTestId('profile-form');
    await form.getByLabel('Git name').fill('Ada Lovelace');
    await form.getByLabel('Git e-mail').fill('ada@example.com');
    await form.getByRole('button', { name: 'Save profile' }).click();
    await form.getByText('Saved.').waitFor();
    expect((await asMember('GET', '/v1/me/profile')).body).toEqual({
      gitName: 'Ada Lovelace',
      gitEmail: 'ada@example.com',
    });
  });

  it('a token with the CA of a self-hosted server: checked, then branches suggested in the create form', async (ctx) => {
    if (handlersMissing !== undefined) ctx.skip(`needs hearthd's repository handlers: ${handlersMissing}`);
    const server = await gitServer();
    const host = `${server.address}:${server.https.port}`;
    const section = await settingsSection();
    const form = section.getByTestId('token-form');
    await form.getByLabel('Git host').fill(server.https.url('site'));
    await form.getByLabel('Token', { exact: true }).fill(server.https.token);
    await form.getByText('Self-hosted server with its own certificate authority').click();
    await form.getByLabel('CA certificate (PEM, optional)').fill(server.https.caPem);
    await form.getByRole('button', { name: 'Add token' }).click();
    await form.getByTestId('credential-added').waitFor();
    const row = section.locator(`[data-credential="${host}"]`);
    expect(await row.getByTestId('credential-ca').textContent()).toBe('Yes, for this host only');
    expect(await page.content()).not.toContain(server.https.token);

    const check = section.getByTestId('check-access');
    await check.getByLabel('Repository URL').fill(server.https.url('site'));
    await check.getByLabel('Ref (optional)').fill('feature');
    await check.getByRole('button', { name: 'Check access' }).click();
    const result = check.locator('[data-testid="access-check"][data-code="ok"]');
    await result.waitFor({ timeout: CHECK_MS });
    expect(await result.getByTestId('access-check-commit').getAttribute('title')).toBe(
      await server.head('site', 'feature'),
    );
    await shootAndCheck(page, 'settings-repositories-check-ok');

    // The create form: one check once the URL is typed, its branches as the ref's suggestions.
    await page.evaluate(() => {
      location.hash = '#/';
    });
    await page.getByTestId('empty-state').getByRole('button', { name: 'Create environment' }).click();
    const dialog = page.getByTestId('create-dialog');
    await dialog.getByLabel('Repository URL (optional)').fill(server.https.url('site'));
    await dialog.locator('[data-testid="repo-check"][data-state="ok"]').waitFor({ timeout: CHECK_MS });
    expect(await dialog.getByLabel('Ref (optional)').getAttribute('placeholder')).toBe('main');
    expect(
      await dialog
        .getByTestId('branch-suggestions')
        .locator('option')
        .evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value).sort()),
    ).toEqual(['feature', 'main']);
    await shootAndCheck(page, 'create-repository-suggestions');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  it('an SSH key made by Hearth: added to the host, its unknown host key trusted after comparing', async (ctx) => {
    if (handlersMissing !== undefined) ctx.skip(`needs hearthd's repository handlers: ${handlersMissing}`);
    const server = await gitServer();
    const host = `${server.address}:${server.ssh.port}`;
    const section = await settingsSection();
    await section.getByLabel('SSH key made by Hearth').check();
    const form = section.getByTestId('ssh-key-form');
    await form.getByLabel('Git host').fill(host);
    await form.getByRole('button', { name: 'Make SSH key' }).click();
    const made = form.getByTestId('ssh-key-made');
    await made.waitFor({ timeout: CHECK_MS });
    expect(await made.textContent()).toContain(`Add it to ${host} as a deploy key or user key`);
    await server.ssh.authorize((await made.getByTestId('public-key-text').textContent())!);

    const check = section.getByTestId('check-access');
    await check.getByLabel('Repository URL').fill(server.ssh.url('site'));
    await check.getByLabel('Ref (optional)').fill('');
    await check.getByRole('button', { name: 'Check access' }).click();
    const unknown = check.locator('[data-testid="access-check"][data-code="host-key-unknown"]');
    await unknown.waitFor({ timeout: CHECK_MS });
    // What the page offers to trust is the server's real key, as ssh-keygen -l would print it.
    const blob = Buffer.from(server.ssh.hostKey.split(' ')[1]!, 'base64');
    const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
    expect(await unknown.getByTestId('offered-host-key').textContent()).toContain(fingerprint);
    await shootAndCheck(page, 'settings-repositories-host-key');
    await unknown.getByRole('button', { name: 'Trust this key…' }).click();
    const confirm = page.locator('dialog[open][data-testid="confirm"]');
    expect(await confirm.getByTestId('trust-fingerprint').textContent()).toBe(fingerprint);
    await confirm.getByRole('button', { name: 'Trust this key' }).click();
    // Trusted, and the same check again: now it goes through, and the credential's last check says so.
    const ok = check.locator('[data-testid="access-check"][data-code="ok"]');
    await ok.waitFor({ timeout: CHECK_MS });
    expect(await ok.getByTestId('offered-host-key').count()).toBe(0);
    await section
      .locator(`[data-credential="${host}"] [data-testid="credential-last-check"]`)
      .filter({ hasText: 'Access works' })
      .waitFor({ timeout: STEP_MS });
    // Among the trusted keys now: folded away until the user opens the list, then there with the
    // fingerprint they compared and who trusted it.
    const hostKeys = section.getByTestId('git-host-keys');
    const trusted = hostKeys.locator(`[data-host-key="${host}"]`);
    await trusted.waitFor({ state: 'attached', timeout: STEP_MS });
    await hostKeys.locator('summary').click();
    await trusted.waitFor({ timeout: STEP_MS });
    expect(await trusted.textContent()).toContain(fingerprint);
    expect(await trusted.textContent()).toContain('By you');
    await shootAndCheck(page, 'settings-repositories-host-key-trusted');
  });

  it('threw nothing in the page', () => {
    expect(stack.pageErrors).toEqual([]);
  });
});
