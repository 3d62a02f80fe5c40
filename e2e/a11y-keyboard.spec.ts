import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shootAndCheck } from './support/axe.js';
import { cannotRunGuiSpec, startGuiStack, type GuiStack } from './support/gui-stack.js';
import { skipWhen } from '../helper/test/support/skip.js';

const skip = cannotRunGuiSpec('keyboard');

const BOOT_MS = 90_000;
/** More Tab presses than the page has stops: a search that needs more has lost its way. */
const MAX_TABS = 40;

/** What has focus, as a sighted keyboard user and a screen reader would tell it. */
interface Focus {
  tag: string;
  /** Accessible-ish name: aria-label, else its label's text, else its own text. */
  name: string;
  inOpenDialog: string | null;
  /** :focus-visible matches and an outline or box-shadow is drawn. */
  ringVisible: boolean;
  ring: string;
}

function focus(page: Page): Promise<Focus> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: 'body', name: '', inOpenDialog: null, ringVisible: false, ring: '' };
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    const shadow = style.boxShadow !== 'none';
    const labelled = el.id ? document.querySelector(`label[for="${CSS.escape(el.id)}"]`)?.textContent : undefined;
    const name = el.getAttribute('aria-label') ?? labelled ?? el.textContent;
    return {
      tag: el.tagName.toLowerCase(),
      name: name.trim(),
      inOpenDialog: el.closest('dialog[open]')?.getAttribute('data-testid') ?? null,
      ringVisible: el.matches(':focus-visible') && (outline || shadow),
      ring: `outline ${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}; box-shadow ${style.boxShadow}`,
    };
  });
}

/**
 * Create → running → delete with the keyboard alone (Tab, Shift+Tab, Enter, Space, arrows,
 * Escape; text typed key by key), against a real hearthd and a real QEMU TCG VM, with the bridge
 * as a hearth member. Every stop Tab reaches must show a focus ring; dialogs must keep focus
 * inside while open and give it back to what opened them; after a create or a delete removes what
 * had focus, it goes to the new row, or to Create environment, never to <body>.
 * Run under the shared VM lock: flock /tmp/hearth-vm.lock npx vitest run e2e/a11y-keyboard.spec.ts
 */
describe('the dashboard with the keyboard only', skipWhen(skip), () => {
  let stack: GuiStack;
  let page: Page;
  /** Every stop visited, for the report when one lacks a ring. */
  const visited: Focus[] = [];

  /**
   * Two animation frames: the page has finished what the last key started (React's effects, the
   * dialog's `close` event) before the next key, as it has for a person, however loaded the machine.
   */
  const settled = () =>
    page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
  const press = async (key: string): Promise<Focus> => {
    await settled();
    await page.keyboard.press(key);
    const now = await focus(page);
    visited.push(now);
    return now;
  };
  /** Tabs (or Shift+Tabs) until `wanted` has focus, checking the ring at every stop on the way. */
  const tabTo = async (wanted: (f: Focus) => boolean, what: string, key = 'Tab'): Promise<Focus> => {
    for (let i = 0; i < MAX_TABS; i++) {
      const now = await press(key);
      if (now.tag !== 'body') expect(now.ringVisible, `focus ring on ${now.tag} "${now.name}": ${now.ring}`).toBe(true);
      if (wanted(now)) return now;
    }
    throw new Error(`${MAX_TABS} × ${key} never reached ${what}; visited: ${visited.map((f) => f.name).join(' | ')}`);
  };
  const named = (name: string) => (f: Focus) => f.name === name;
  /** Tab and Shift+Tab round a whole cycle: focus must never leave the open dialog. */
  const expectTrapped = async (dialog: string) => {
    for (const key of ['Tab', 'Shift+Tab']) {
      for (let i = 0; i < 8; i++) {
        const now = await press(key);
        expect(now.inOpenDialog, `${key} #${i + 1} moved focus to ${now.tag} "${now.name}"`).toBe(dialog);
        expect(now.ringVisible, `focus ring on ${now.tag} "${now.name}": ${now.ring}`).toBe(true);
      }
    }
  };
  const selectedClass = () =>
    page.evaluate(
      () => document.querySelector<HTMLSelectElement>('[data-testid="create-dialog"] select[name="class"]')?.value,
    );

  beforeAll(async () => {
    stack = await startGuiStack('hearth-keys-');
    page = stack.page;
    await page.getByTestId('empty-state').waitFor({ timeout: 15_000 });
  }, 180_000);

  afterAll(async () => {
    // Unset when beforeAll failed: its own cleanup already ran.
    await (stack as GuiStack | undefined)?.dispose();
  });

  it('opens the create dialog from the keyboard, keeps focus in it, and gives it back on Escape', async () => {
    await tabTo(named('Create environment'), 'the Create environment button');
    await press('Enter');
    const dialog = page.getByTestId('create-dialog');
    await dialog.waitFor();
    const first = await focus(page);
    expect(first).toMatchObject({ tag: 'input', name: 'Name', inOpenDialog: 'create-dialog', ringVisible: true });
    await expectTrapped('create-dialog');
    await press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focus(page)).toMatchObject({ name: 'Create environment', ringVisible: true });
  });

  it('creates an environment with keys alone, which reaches running', { timeout: BOOT_MS + 60_000 }, async () => {
    await press('Enter');
    await page.getByTestId('create-dialog').waitFor();
    expect(await focus(page)).toMatchObject({ name: 'Name' });
    await page.keyboard.type('keys');
    await tabTo(named('Class'), 'the Class field');
    // A closed <select> takes arrows directly; walk the list until the test's class is chosen.
    for (let i = 0; i < 10 && (await selectedClass()) !== 'tiny'; i++) await press('ArrowDown');
    for (let i = 0; i < 10 && (await selectedClass()) !== 'tiny'; i++) await press('ArrowUp');
    expect(await selectedClass()).toBe('tiny');
    await tabTo(named('Create'), 'the Create button');
    await shootAndCheck(page, 'keyboard-create-dialog');
    await press('Space');
    await page.getByTestId('create-dialog').waitFor({ state: 'hidden', timeout: 15_000 });
    // The opener (the empty state's button) is gone with the empty state: focus goes to the new
    // environment's link rather than being dropped on <body>.
    await page.locator('[data-env="keys"]').waitFor();
    expect(await focus(page)).toMatchObject({ tag: 'a', name: 'keys', ringVisible: true });
    await page.locator('[data-env="keys"][data-state="running"]').waitFor({ timeout: BOOT_MS });
    // Still there once it runs: the row re-rendered through its states without losing it.
    expect(await focus(page)).toMatchObject({ tag: 'a', name: 'keys' });
  });

  it('deletes it through the confirmation, keys alone', { timeout: 60_000 }, async () => {
    const deleteButton = (f: Focus) => f.name === 'Delete keys';
    await tabTo(deleteButton, 'the Delete keys button');
    await press('Enter');
    const confirm = page.getByTestId('confirm');
    await confirm.waitFor();
    // The safe choice first.
    expect(await focus(page)).toMatchObject({ name: 'Cancel', inOpenDialog: 'confirm', ringVisible: true });
    await expectTrapped('confirm');
    await press('Escape');
    await confirm.waitFor({ state: 'hidden' });
    expect(await page.locator('[data-env="keys"]').count()).toBe(1);
    expect(await focus(page)).toMatchObject({ name: 'Delete keys', ringVisible: true });

    await press('Enter');
    await confirm.waitFor();
    await tabTo(named('Delete'), 'the confirming Delete button');
    await shootAndCheck(page, 'keyboard-confirm-delete');
    await press('Enter');
    await page.locator('[data-env="keys"]').waitFor({ state: 'detached', timeout: 30_000 });
    await page.getByTestId('empty-state').waitFor();
    // No row is left to go to: focus lands on Create environment, not on <body>.
    expect(await focus(page)).toMatchObject({ tag: 'button', name: 'Create environment', ringVisible: true });
    expect(await page.evaluate(() => document.activeElement?.closest('[data-testid="empty-state"]') !== null)).toBe(
      true,
    );
    expect(stack.pageErrors).toEqual([]);
  });
});
