/**
 * `npm run bench:logviewer`: the log viewer at a million lines, through the real path.
 *
 * A real hearthd (HearthdProcess, the test image, a created environment; no VM boot: lines are
 * appended to the environment's console file as the guest's serial console would append them)
 * → its SSE follow → the app's main-process logic (startDevWeb, the browser bridge that serves
 * the same IPC router as Electron) → the renderer bundle in Debian's Chromium. Measures:
 *
 *  - time to first render: hash navigation to the first console line on screen;
 *  - 1,000,000 lines (with ANSI colours) loaded in bursts paced to what the follower keeps up
 *    with; every line counted in the viewer (`data-lines`);
 *  - longest frame while following at 5,000 lines/s, while searching the 1M lines, and while
 *    scrolling from the top to the end (requestAnimationFrame deltas collected in the page);
 *  - JS heap used (CDP, after a GC);
 *  - a follow of 10 MB written in 1 MB bursts: MB/s and whether every line arrived;
 *  - the renderer's initial JS, gzipped (the scripts dist/renderer/index.html loads at start).
 *
 * This file sets the path up, runs the measurements (logviewer/measurements.ts, which drive the
 * page through logviewer/viewer-page.ts) in order and prints the report.
 *
 * Run under the shared lock: flock /tmp/hearth-vm.lock npm run bench:logviewer. The last two
 * lines are exactly `renderer initial JS gzip KB: <n>` and `longest frame ms while scrolling 1M lines: <n>`.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { addTinyClass, installTestImage } from '../helper/test/support/environments.js';
import { HearthdProcess, makePaths } from '../helper/test/support/hearthd-process.js';
import { startDevWeb } from '../main/src/web/dev-web.js';
import { artifactPath, launchChromium, openRoute } from '../e2e/support/browser.js';
import { colouredScreenshots } from './logviewer/colour-screenshots.js';
import { ConsoleFeed } from './logviewer/console-feed.js';
import {
  burst10MB,
  followAt5000LinesPerSecond,
  heapAfterGc,
  type LogBench,
  loadLines,
  scrollThrough,
  searchAllLines,
  timeToFirstRender,
} from './logviewer/measurements.js';
import { initialJsGzipKB } from './logviewer/renderer-bundle.js';
import { installFrameMeter } from './logviewer/viewer-page.js';

const TOTAL = Number(process.env.BENCH_LINES ?? 1_000_000);
const BURST = 10_000;
const RENDERER = join(import.meta.dirname, '..', 'dist', 'renderer');
const ms = (n: number) => `${n.toFixed(1)} ms`;
const count = (n: number) => n.toLocaleString('en');

/** Runs every measurement on a viewer following `feed`, printing each figure as it comes. */
async function measure(bench: LogBench, environmentId: string, devUrl: string): Promise<void> {
  const { page, feed } = bench;
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await openRoute(page, devUrl, '#/');
  console.log(`time to first render: ${ms(await timeToFirstRender(page, environmentId))}`);
  await installFrameMeter(page);

  const load = await loadLines(bench, TOTAL, BURST);
  console.log(
    `loaded ${count(load.held)} of ${count(feed.written)} lines in ${load.seconds.toFixed(1)} s ` +
      `(${(feed.written / load.seconds).toFixed(0)} lines/s through hearthd → main → IPC → renderer)`,
  );

  const follow = await followAt5000LinesPerSecond(bench);
  console.log(
    `longest frame while following at 5,000 lines/s: ${ms(follow.frames.max)} ` +
      `(${follow.frames.frames} frames, following=${follow.following})`,
  );

  const search = await searchAllLines(bench);
  console.log(
    `longest frame while searching ${count(feed.written)} lines: ${ms(search.frames.max)} ` +
      `(search took ${ms(search.searchMs)}, ${search.counted})`,
  );

  const scroll = await scrollThrough(bench);
  const scrolled = scroll.frames;
  console.log(
    `scrolled top → end in ${ms(scroll.scrollMs)}: ${scrolled.frames} frames, p99 ${ms(scrolled.p99)}, ` +
      `${scrolled.over50} over 50 ms, longest ${ms(scrolled.max)} (2 cores shared with other work)`,
  );

  const cdp = await page.context().newCDPSession(page);
  const heap = await heapAfterGc(cdp);
  console.log(`JS heap used: ${heap.usedMiB.toFixed(1)} MiB (of ${heap.totalMiB.toFixed(1)} MiB)`);

  const burst = await burst10MB(bench, cdp);
  console.log(`  burst CPU: ${burst.cpu} (in ${(burst.seconds * 1000).toFixed(0)} ms, 2 cores)`);
  console.log(
    `10 MB in 1 MB bursts: ${(burst.bytes / (1024 * 1024) / burst.seconds).toFixed(1)} MB/s, ` +
      `${count(burst.arrived - burst.before)} of ${count(feed.written - burst.before)} lines arrived ` +
      `(every line: ${burst.all && burst.arrived === feed.written ? 'yes' : 'no'})`,
  );
  const dropped = await page.getAttribute('[data-testid="log-viewer"]', 'data-dropped');
  console.log(
    `viewer: ${count(burst.arrived)} lines reached it, ${dropped} dropped by its cap; page errors: ${errors.length}`,
  );
  for (const error of errors) console.log(`  page error: ${error}`);

  await page.emulateMedia({ colorScheme: 'light' });
  await page.screenshot({ path: await artifactPath('logviewer-1m-light.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: await artifactPath('logviewer-1m-dark.png') });

  await colouredScreenshots(bench.browser, devUrl);
  console.log(`renderer initial JS gzip KB: ${(await initialJsGzipKB(RENDERER)).toFixed(1)}`);
  console.log(`longest frame ms while scrolling 1M lines: ${scrolled.max.toFixed(1)}`);
}

async function main(): Promise<void> {
  const paths = await makePaths('hearth-logbench-');
  await installTestImage(paths);
  const daemon = await HearthdProcess.start(paths);
  const dev = await startDevWeb({
    socket: paths.socket,
    rendererDir: RENDERER,
    assumeInstalled: true,
    saveDir: join(paths.dir, 'saved'),
  });
  const browser = await launchChromium();
  try {
    const client = daemon.client();
    await addTinyClass(client);
    const { id } = await client.call('createEnvironment', { body: { name: 'bench', class: 'tiny', start: false } });
    await client.close();
    const feed = new ConsoleFeed(join(paths.stateDir, 'environments', id, 'console.log'));
    await feed.append(1);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await measure({ browser, page, feed, trace: process.env.BENCH_TRACE === '1' }, id, dev.url);
  } finally {
    await browser.close();
    await dev.close();
    await daemon.dispose();
    await rm(paths.dir, { recursive: true, force: true });
  }
}

await main();
