/**
 * The bench's measurements, one function each, in the order the bench runs them: each drives the
 * page and the console feed, and returns its figures for the report.
 * BENCH_TRACE=1 adds Chromium traces and CPU profiles of the scroll and the burst to the
 * artifacts, to see what the long frames hold; off by default (tracing costs frames itself).
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { artifactPath } from '../../e2e/support/browser.js';
import { colouredLine, type ConsoleFeed } from './console-feed.js';
import { cpuByRole, cpuSince } from './process-cpu.js';
import { type FrameStats, linesIn, meterStart, meterStop, scrollTopToEnd, sleep, waitForLines } from './viewer-page.js';

const MIB = 1024 * 1024;

/** What every measurement works on: the viewer's page and the console file it follows. */
export interface LogBench {
  browser: Browser;
  page: Page;
  feed: ConsoleFeed;
  trace: boolean;
}

/** Hash navigation from the dashboard to the environment's console, until its first line is on screen (ms). */
export async function timeToFirstRender(page: Page, environmentId: string): Promise<number> {
  await page.waitForSelector('.topbar');
  const navigated = performance.now();
  await page.evaluate((hash) => (location.hash = hash), `#/environments/${environmentId}/console`);
  await page.waitForSelector('[data-testid="log-scroll"] .log-row');
  return performance.now() - navigated;
}

/**
 * Loads the feed up to `total` lines in bursts the follower keeps up with: the next burst waits
 * until the viewer has nearly caught up, so nothing depends on hearthd holding a backlog.
 */
export async function loadLines(
  { page, feed }: LogBench,
  total: number,
  burst: number,
): Promise<{ held: number; seconds: number }> {
  const started = performance.now();
  while (feed.written < total) {
    await feed.append(Math.min(burst, total - feed.written));
    await waitForLines(page, feed.written - burst, 60_000);
  }
  const held = await waitForLines(page, feed.written, 60_000);
  return { held, seconds: (performance.now() - started) / 1000 };
}

/** Following at 5,000 lines/s for 5 s: 500 lines every 100 ms. */
export async function followAt5000LinesPerSecond({
  page,
  feed,
}: LogBench): Promise<{ frames: FrameStats; following: string | null }> {
  await meterStart(page);
  for (let tick = 0; tick < 50; tick += 1) {
    const started = performance.now();
    await feed.append(500);
    await sleep(Math.max(0, 100 - (performance.now() - started)));
  }
  await waitForLines(page, feed.written, 30_000);
  const frames = await meterStop(page);
  const following = await page.getAttribute('[data-testid="log-viewer"]', 'data-following');
  return { frames, following };
}

/** Searching the whole buffer: "l0004" matches 10,000 lines scattered over the first half. */
export async function searchAllLines({
  page,
}: LogBench): Promise<{ frames: FrameStats; searchMs: number; counted: string | null }> {
  const search = page.getByLabel('Search log');
  await meterStart(page);
  const started = performance.now();
  await search.fill('l0004');
  await page.waitForFunction(
    () => {
      const text = document.querySelector('[data-testid="log-match-count"]')?.textContent ?? '';
      return / of \d+$/.test(text);
    },
    undefined,
    { timeout: 120_000, polling: 50 },
  );
  const searchMs = performance.now() - started;
  const frames = await meterStop(page);
  const counted = await page.textContent('[data-testid="log-match-count"]');
  await search.fill('');
  return { frames, searchMs, counted };
}

/** Scrolling from the top to the end, one step per frame. */
export async function scrollThrough({
  browser,
  page,
  trace,
}: LogBench): Promise<{ frames: FrameStats; scrollMs: number }> {
  await page.locator('[data-testid="log-scroll"]').focus();
  await page.keyboard.press('Home');
  await sleep(300);
  if (trace)
    await browser.startTracing(page, {
      path: await artifactPath('logviewer-scroll-trace.json'),
      categories: [
        'devtools.timeline',
        'v8',
        'disabled-by-default-v8.gc',
        'blink',
        'cc',
        'gpu',
        'toplevel',
        'v8.execute',
      ],
    });
  await meterStart(page);
  const started = performance.now();
  await scrollTopToEnd(page);
  const scrollMs = performance.now() - started;
  const frames = await meterStop(page);
  if (trace) await browser.stopTracing();
  return { frames, scrollMs };
}

/** The page's JS heap after a garbage collection, in MiB. */
export async function heapAfterGc(cdp: CDPSession): Promise<{ usedMiB: number; totalMiB: number }> {
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = await cdp.send('Runtime.getHeapUsage');
  return { usedMiB: heap.usedSize / MIB, totalMiB: heap.totalSize / MIB };
}

/** What the 10 MB burst delivered: lines are counted from `before`, what the viewer held at its start. */
export interface BurstFigures {
  bytes: number;
  seconds: number;
  before: number;
  arrived: number;
  /** Whether the viewer caught up with every line before the timeout. */
  all: boolean;
  /** CPU time by role during the burst, as one line. */
  cpu: string;
}

/** 10 MB in 1 MB bursts (10,485 lines of ~100 bytes each), followed live. */
export async function burst10MB({ browser, page, feed, trace }: LogBench, cdp: CDPSession): Promise<BurstFigures> {
  await page.keyboard.press('End');
  const before = await waitForLines(page, feed.written, 10_000);
  const perBurst = Math.floor(MIB / colouredLine(feed.written).length);
  if (trace)
    await browser.startTracing(page, {
      path: await artifactPath('logviewer-burst-trace.json'),
      categories: [
        'devtools.timeline',
        'v8',
        'disabled-by-default-v8.gc',
        'blink',
        'toplevel',
        'v8.execute',
        'loading',
        'net',
      ],
    });
  // BENCH_TRACE=1: a CPU profile of this process (main logic, bridge, Playwright) during the burst.
  const inspector = trace ? new Session() : undefined;
  if (inspector) {
    inspector.connect();
    await new Promise((r) => inspector.post('Profiler.enable', () => inspector.post('Profiler.start', r)));
  }
  if (trace) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.start');
  }
  const cpuBefore = await cpuByRole();
  const started = performance.now();
  let bytes = 0;
  // Back to back, IN_FLIGHT bursts on their way at most: the next lands as soon as the viewer
  // holds the one IN_FLIGHT back, so what is measured is the follow path, not a writer's pause.
  // (A follower more than 4 MiB behind skips ahead; 3 MiB in flight stays inside that.)
  const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 3);
  for (let burst = 0; burst < 10; burst += 1) {
    if (burst >= IN_FLIGHT) await waitForLines(page, before + (burst - IN_FLIGHT + 1) * perBurst, 30_000);
    bytes += await feed.append(perBurst);
  }
  let arrived = before;
  let all = true;
  try {
    arrived = await waitForLines(page, feed.written, 60_000);
  } catch {
    all = false;
    arrived = await linesIn(page);
  }
  const seconds = (performance.now() - started) / 1000;
  if (trace) {
    const { profile } = await cdp.send('Profiler.stop');
    await writeFile(await artifactPath('logviewer-burst-renderer.cpuprofile'), JSON.stringify(profile));
  }
  if (inspector) {
    const profile = await new Promise<unknown>((r) => inspector.post('Profiler.stop', (_e, v) => r(v.profile)));
    await writeFile(await artifactPath('logviewer-burst-main.cpuprofile'), JSON.stringify(profile));
    inspector.disconnect();
  }
  const cpu = cpuSince(cpuBefore, await cpuByRole());
  if (trace) await browser.stopTracing();
  return { bytes, seconds, before, arrived, all, cpu };
}
