import { rm } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthdProcess, makePaths, type HearthdPaths } from '../helper/test/support/hearthd-process.js';
import { artifactPath, launchChromium, openRoute } from './support/browser.js';
import { cannotRunGuiSpec } from './support/gui-stack.js';
import { ensureMember, startMemberBridge, type MemberBridge } from './support/member-bridge.js';
import { skipWhen } from '../helper/test/support/skip.js';

const skip = cannotRunGuiSpec('browser-mode');

/**
 * The renderer in Debian's Chromium, bridged (browser mode) to the real main-process logic and a
 * real hearthd process, with the bridge as a plain `hearth` member in its own process: what the
 * user sees is this machine's real readiness report, as hearthd tells it to a member.
 */
describe('browser mode against a real hearthd', skipWhen(skip), () => {
  let paths: HearthdPaths;
  let daemon: HearthdProcess;
  let bridge: MemberBridge;
  let browser: Browser;
  let page: Page;
  /** What beforeAll started, undone in reverse (also when it failed half-way). */
  const cleanup: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    // Before hearthd: it gives its socket the hearth group only if the group exists when it starts.
    const member = await ensureMember();
    paths = await makePaths('hearth-e2e-');
    cleanup.push(() => rm(paths.dir, { recursive: true, force: true }));
    daemon = await HearthdProcess.start(paths);
    // The daemon the spec ends with: a test restarts it.
    cleanup.push(() => daemon.dispose());
    bridge = await startMemberBridge(paths.socket, member);
    cleanup.push(() => bridge.close());
    browser = await launchChromium();
    cleanup.push(() => browser.close());
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await openRoute(page, bridge.url, '#/setup/helper');
  }, 120_000);
  afterAll(async () => {
    for (const undo of cleanup.reverse()) await undo().catch((e: unknown) => console.warn(`cleanup: ${String(e)}`));
  });

  it('shows the connection and this machine’s real readiness report', async () => {
    await page.getByTestId('connection-state').filter({ hasText: 'Connected' }).waitFor({ timeout: 10_000 });
    const client = daemon.client();
    const report = await client.call('getHost', { query: {} });
    await client.close();
    await page.evaluate(() => (location.hash = '#/setup/machine'));
    await page.getByTestId('verdict-reason').waitFor();
    expect(await page.getByTestId('verdict-reason').textContent()).toBe(report.reason);
    const shown = await page
      .locator('[data-check]')
      .evaluateAll((els) =>
        els.map((el): [string | null, string | null] => [
          el.getAttribute('data-check'),
          el.getAttribute('data-status'),
        ]),
      );
    expect(new Map(shown)).toEqual(new Map(report.checks.map((c) => [c.id, c.status])));
    for (const check of report.checks.filter((c) => c.remedy?.command !== undefined)) {
      expect(await page.locator(`[data-check="${check.id}"] .command code`).textContent()).toBe(check.remedy!.command);
    }
    // The token left the address bar once read.
    expect(page.url()).not.toContain('hearth-token');
    await page.screenshot({ path: await artifactPath('setup-connected-light.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: await artifactPath('setup-connected-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('shows the offline state within seconds when hearthd stops, and recovers without a reload', async () => {
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const stoppedAt = Date.now();
    await daemon.stop();
    await page.locator('[data-testid="helper-dot"][data-state="stopped"]').waitFor({ timeout: 5_000 });
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    await page.getByText('The helper is offline').waitFor();
    await page.screenshot({ path: await artifactPath('setup-offline.png'), fullPage: true });

    daemon = await HearthdProcess.start(paths);
    await page.locator('[data-testid="helper-dot"][data-state="connected"]').waitFor({ timeout: 8_000 });
    expect(await page.getByText('The helper is offline').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  });

  it('refuses bridge calls without the token', async () => {
    const origin = new URL(bridge.url).origin;
    const response = await fetch(`${origin}/bridge/invoke/getHost`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(401);
    const wrongHost = await fetch(`${origin}/bridge/invoke/getHost`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer nope', origin: 'http://evil.example' },
      body: '{}',
    });
    expect(wrongHost.status).toBe(401);
  });
});
