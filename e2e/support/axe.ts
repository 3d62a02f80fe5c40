import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { shoot, type ColorScheme } from './screenshots.js';

/** What #8's acceptance forbids on any screen; minor and moderate findings are reported, not failed. */
const BLOCKING = new Set(['serious', 'critical']);

/**
 * Runs axe (every rule it has: WCAG 2.x A/AA and best practices) on the page as it is now, in its
 * current colour scheme, and fails listing each serious or critical violation: the rule, the
 * elements it found, and axe's help text and link.
 */
export async function expectNoSeriousViolations(page: Page, screenName: string): Promise<void> {
  // Legacy mode runs axe inside the page itself. The default opens a second page to merge
  // results across frames: the app has no frames, pages from browser.newPage() may not open
  // others, and a second page could take focus from the one a keyboard test is driving.
  const results = await new AxeBuilder({ page }).setLegacyMode(true).analyze();
  const blocking = results.violations.filter((v) => BLOCKING.has(v.impact ?? ''));
  const others = results.violations.filter((v) => !BLOCKING.has(v.impact ?? ''));
  if (others.length)
    console.warn(`axe on ${screenName}: ${others.map((v) => `${v.id} (${v.impact ?? '?'})`).join(', ')}`);
  if (blocking.length === 0) return;
  const lines = blocking.flatMap((v) => [
    `- ${v.id} (${v.impact}): ${v.help} — ${v.helpUrl}`,
    ...v.nodes.map((n) => `    at ${n.target.join(' ')}: ${n.failureSummary?.replaceAll('\n', ' ') ?? ''}`),
  ]);
  throw new Error(`axe found serious or critical violations on ${screenName}:\n${lines.join('\n')}`);
}

/**
 * One screen, checked as a user meets it: a screenshot and an axe run in light and in dark
 * (colour contrast differs between the two).
 */
export function shootAndCheck(page: Page, name: string): Promise<void> {
  return shoot(page, name, (scheme: ColorScheme) => expectNoSeriousViolations(page, `${name} (${scheme})`));
}
