import { appendFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestAs } from '../helper/test/support/request-as.js';
import { shootAndCheck } from './support/axe.js';
import { cannotRunGuiSpec, startGuiStack, type GuiStack } from './support/gui-stack.js';
import { skipWhen } from '../helper/test/support/skip.js';

const skip = cannotRunGuiSpec('logs');

const RED = '\x1b[31m';
const RESET = '\x1b[0m';

/**
 * The log screens against a real hearthd, as a `hearth` member through the member bridge: hearthd's
 * own log shows the member only what is about their environments, and an environment's console
 * shows the colours a guest printed, searchable, and saved to a file through the bridge. No VM:
 * the console lines are appended to the console file as a guest's serial output would be.
 */
describe('log screens against a real hearthd', skipWhen(skip), () => {
  let stack: GuiStack;
  let page: Page;
  let mine: string;

  const viewer = (): Locator => page.getByTestId('log-viewer');
  const search = async (text: string) => {
    await page.getByLabel('Search log').fill(text);
    const count = page.getByTestId('log-match-count');
    await count.filter({ hasText: /(of \d+|No matches)$/ }).waitFor({ timeout: 10_000 });
    return count.textContent();
  };

  beforeAll(async () => {
    stack = await startGuiStack('hearth-logs-', '#/');
    page = stack.page;
    const socket = stack.daemon.paths.socket;
    const created = await requestAs(socket, stack.bridge.member.uid, 'POST', '/v1/environments', {
      name: 'mine',
      class: 'tiny',
      start: false,
    });
    expect(created.status).toBe(201);
    mine = created.body.id as string;
    const client = stack.daemon.client();
    await client.call('createEnvironment', { body: { name: 'roots', class: 'tiny', start: false } });
    await client.close();
  }, 180_000);

  afterAll(async () => {
    await stack.dispose();
  });

  it("shows a member hearthd's log about their own environments only", { timeout: 60_000 }, async () => {
    await page.evaluate(() => {
      location.hash = '#/logs';
    });
    await viewer().locator('.log-row', { hasText: '[mine]' }).first().waitFor({ timeout: 15_000 });
    expect(await search('[mine]')).toMatch(/of \d+$/);
    // Root's environment is in hearthd's log too, but not for this member: not one line of it.
    expect(await search('roots')).toBe('No matches');
    await page.getByLabel('Search log').fill('');

    // The level filter: "error and above" leaves none of the info lines a create writes.
    await page.getByLabel('Level').selectOption('error');
    await expect.poll(() => viewer().locator('.log-row').count(), { timeout: 5000 }).toBe(0);
    await page.getByLabel('Level').selectOption('trace');
    await viewer().locator('.log-row').first().waitFor({ timeout: 5000 });
    await shootAndCheck(page, 'logs-hearthd');
  });

  it('shows a console live with its colours, finds a line, and saves it to a file', { timeout: 60_000 }, async () => {
    await page.evaluate((id) => {
      location.hash = `#/environments/${id}/console`;
    }, mine);
    await viewer().waitFor({ timeout: 10_000 });
    const consoleFile = join(stack.daemon.paths.stateDir, 'environments', mine, 'console.log');
    const lines = Array.from({ length: 300 }, (_, i) => `boot line ${i}`);
    lines[150] = `${RED}needle: a red line${RESET} after it`;
    await appendFile(consoleFile, `${lines.join('\n')}\n`);

    // Following: the newest line is on screen as soon as it is written.
    await viewer().locator('.log-row', { hasText: 'boot line 299' }).waitFor({ timeout: 10_000 });
    expect(await viewer().getAttribute('data-following')).toBe('true');

    expect(await search('needle')).toBe('1 of 1');
    const hit = viewer().locator('.log-row', { hasText: 'needle' });
    await hit.waitFor({ timeout: 5000 });
    // The colour survived hearthd's cleaning and anser's parsing: a class, not escape text.
    expect(await hit.locator('.ansi-fg-red').count()).toBeGreaterThan(0);
    expect(await hit.textContent()).not.toContain('\x1b');
    await shootAndCheck(page, 'logs-console');

    await page.getByRole('button', { name: 'Save…' }).click();
    const saved = page.locator('.log-notice', { hasText: /Saved .* to \// });
    await saved.waitFor({ timeout: 10_000 });
    const path = /to (\/\S+?)\.?( \(|$)/.exec((await saved.textContent()) ?? '')?.[1];
    expect(path).toBeDefined();
    const text = await readFile(path!, 'utf8');
    expect(text).toContain('boot line 0');
    expect(text).toContain('needle: a red line after it');
    await rm(path!);
    expect(stack.pageErrors).toEqual([]);
  });
});
