/**
 * Drives the log viewer's page: how many lines reached the viewer, and a frame meter (a
 * requestAnimationFrame loop in the page) that records the gaps between frames while on.
 */
import type { Page } from 'playwright-core';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Lines that reached the viewer: those it holds plus those its cap dropped. */
export const linesIn = (page: Page): Promise<number> =>
  page.evaluate(() => {
    const root = document.querySelector('[data-testid="log-viewer"]');
    return Number(root?.getAttribute('data-lines') ?? 0) + Number(root?.getAttribute('data-dropped') ?? 0);
  });

/** Waits until at least `atLeast` lines reached the viewer; fails with what its status line says. */
export async function waitForLines(page: Page, atLeast: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const n = await linesIn(page);
    if (n >= atLeast) return n;
    if (performance.now() > deadline) {
      const status = await page.textContent('.log-status');
      throw new Error(`the viewer holds ${n} lines, expected ${atLeast}; it says: ${status}`);
    }
    await sleep(5);
  }
}

/**
 * Starts the page's frame meter, off until meterStart.
 * (Page scripts are strings: tsx's name-keeping helper does not exist in the page.)
 */
export const installFrameMeter = (page: Page): Promise<unknown> =>
  page.evaluate(`(() => {
    const meter = { on: false, last: 0, max: 0, frames: 0, deltas: [] };
    window.frameMeter = meter;
    const tick = (t) => {
      if (meter.on) {
        if (meter.last > 0) {
          meter.max = Math.max(meter.max, t - meter.last);
          meter.deltas.push(t - meter.last);
        }
        meter.frames += 1;
      }
      meter.last = t;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);

type Meter = { on: boolean; last: number; max: number; frames: number; deltas: number[] };

/** What the frame meter saw between meterStart and meterStop (times in ms). */
export interface FrameStats {
  max: number;
  frames: number;
  p99: number;
  /** Frames that came more than 50 ms after the one before. */
  over50: number;
}

export const meterStart = (page: Page): Promise<void> =>
  page.evaluate(() => {
    const m = (window as unknown as { frameMeter: Meter }).frameMeter;
    Object.assign(m, { on: true, last: 0, max: 0, frames: 0, deltas: [] });
  });

export const meterStop = (page: Page): Promise<FrameStats> =>
  page.evaluate(() => {
    const m = (window as unknown as { frameMeter: Meter }).frameMeter;
    m.on = false;
    const sorted = [...m.deltas].sort((a, b) => a - b);
    return {
      max: m.max,
      frames: m.frames,
      p99: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
      over50: sorted.filter((d) => d > 50).length,
    };
  });

/** Scrolls the viewer from the top to the end in 1,500 steps, one per frame: every frame a fresh set of rows. */
export const scrollTopToEnd = (page: Page): Promise<unknown> =>
  page.evaluate(`new Promise((resolve) => {
    const el = document.querySelector('[data-testid="log-scroll"]');
    const steps = 1500;
    const stride = (el.scrollHeight - el.clientHeight) / steps;
    let step = 0;
    const next = () => {
      step += 1;
      el.scrollTop = Math.round(step * stride);
      if (step < steps) requestAnimationFrame(next);
      else requestAnimationFrame(() => resolve());
    };
    requestAnimationFrame(next);
  })`);
