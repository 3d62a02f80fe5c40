import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium, driven by playwright-core: no browser download, ever. */
export const CHROMIUM = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

/** Screenshots are test artifacts: test-results/e2e/<name>.png. */
export async function artifactPath(name: string): Promise<string> {
  const dir = join(import.meta.dirname, '..', '..', 'test-results', 'e2e');
  await mkdir(dir, { recursive: true });
  return join(dir, name);
}

/**
 * Opens the app at `dev.url` (its hash carries the one-time token, which the bridge client reads and
 * then clears) and then goes to `route` — the router's hash, e.g. `#/setup`. Navigating by hash
 * after load keeps the page (and its bridge session) alive.
 */
export async function openRoute(page: Page, url: string, route: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => !location.hash.includes('hearth-token'));
  await page.evaluate((hash) => {
    location.hash = hash;
  }, route);
}
