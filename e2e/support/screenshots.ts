import type { Page } from 'playwright-core';
import { artifactPath } from './browser.js';

export type ColorScheme = 'light' | 'dark';
export const COLOR_SCHEMES: readonly ColorScheme[] = ['light', 'dark'];

/**
 * Screenshots of the page as it is now, in light and in dark (the app follows the system's
 * scheme): test-results/e2e/<name>-light.png and <name>-dark.png. `each` runs in each scheme
 * after its screenshot (an axe check, say). The page is left in light, where tests expect it.
 */
export async function shoot(page: Page, name: string, each?: (scheme: ColorScheme) => Promise<void>): Promise<void> {
  // A full-page shot of a scrolled page draws the sticky top bar where the viewport was, in the
  // middle of the picture: shoot from the top, then put the user's scroll back.
  const scrolled = await page.evaluate(() => {
    const at = { x: window.scrollX, y: window.scrollY };
    window.scrollTo(0, 0);
    return at;
  });
  try {
    for (const scheme of COLOR_SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: await artifactPath(`${name}-${scheme}.png`), fullPage: true });
      await each?.(scheme);
    }
  } finally {
    await page.emulateMedia({ colorScheme: 'light' });
    await page.evaluate(({ x, y }) => window.scrollTo(x, y), scrolled);
  }
}
