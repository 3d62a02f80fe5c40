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
 * Run under the shared lock: flock /tmp/hearth-vm.lock npm run bench:logviewer. The last two
 * lines are exactly `renderer initial JS gzip KB: <n>` and `longest frame ms while scrolling 1M lines: <n>`.
 */
import { appendFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { addTinyClass, installTestImage } from '../helper/test/support/environments.js';
import { HearthdProcess, makePaths } from '../helper/test/support/hearthd-process.js';
import { startDevWeb } from '../main/src/web/dev-web.js';
import { artifactPath, launchChromium, openRoute } from '../e2e/support/browser.js';

const TOTAL = Number(process.env.BENCH_LINES ?? 1_000_000);
const BURST = 10_000;
const RENDERER = join(import.meta.dirname, '..', 'dist', 'renderer');
const MIB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (n: number) => `${n.toFixed(1)} ms`;

const COLOURS = ['31', '32', '33', '34', '35', '36', '1;31', '38;5;208', '38;2;120;180;255'];
/** A console line with colours: a timestamp, a coloured level and a numbered message (~100 bytes). */
const colouredLine = (n: number) =>
  `\x1b[90m2025-01-02T03:04:05Z\x1b[0m \x1b[${COLOURS[n % COLOURS.length]}m${n % 7 === 0 ? 'WARN' : 'INFO'}\x1b[0m ` +
  `L${String(n).padStart(8, '0')} worker ${n % 13} handled request /api/items/${n % 997} in ${n % 250} ms\n`;
const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => colouredLine(from + i)).join('');

/**
 * CPU time (ms) so far of this process's descendants by role, and of the bench process itself
 * (the main-process logic and the bridge run in it, besides Playwright): for a breakdown of
 * where a phase's time went. Linux /proc; clock ticks are 100 Hz.
 */
async function cpuByRole(): Promise<Record<string, number>> {
  const parents = new Map<number, number>();
  const times = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
      times.set(Number(entry), (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // gone meanwhile
    }
  }
  const out: Record<string, number> = { bench: (process.cpuUsage().user + process.cpuUsage().system) / 1000 };
  for (const [pid, time] of times) {
    let up = parents.get(pid);
    while (up !== undefined && up > 1 && up !== process.pid) up = parents.get(up);
    if (up !== process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const role = cmdline.includes('--type=renderer')
      ? 'renderer'
      : /chrom/.test(cmdline)
        ? 'chromium (other)'
        : /hearthd|helper/.test(cmdline)
          ? 'hearthd'
          : 'other';
    out[role] = (out[role] ?? 0) + time;
  }
  return out;
}
const cpuSince = (before: Record<string, number>, after: Record<string, number>) =>
  Object.entries(after)
    .map(([role, t]) => `${role} ${(t - (before[role] ?? 0)).toFixed(0)} ms`)
    .join(', ');

/** Lines that reached the viewer: those it holds plus those its cap dropped. */
const linesIn = (page: Page) =>
  page.evaluate(() => {
    const root = document.querySelector('[data-testid="log-viewer"]');
    return Number(root?.getAttribute('data-lines') ?? 0) + Number(root?.getAttribute('data-dropped') ?? 0);
  });

async function waitForLines(page: Page, atLeast: number, timeoutMs: number): Promise<number> {
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
 * A requestAnimationFrame loop in the page that records the longest gap between frames while on.
 * (Page scripts are strings: tsx's name-keeping helper does not exist in the page.)
 */
const installFrameMeter = (page: Page) =>
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
const meterStart = (page: Page) =>
  page.evaluate(() => {
    const m = (window as unknown as { frameMeter: Meter }).frameMeter;
    Object.assign(m, { on: true, last: 0, max: 0, frames: 0, deltas: [] });
  });
const meterStop = (page: Page) =>
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

async function initialJsGzipKB(): Promise<number> {
  const html = await readFile(join(RENDERER, 'index.html'), 'utf8');
  const sources = [
    ...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g),
    ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
  ].map((m) => m[1]!);
  let bytes = 0;
  for (const src of new Set(sources)) bytes += gzipSync(await readFile(join(RENDERER, src))).length;
  return bytes / 1024;
}

/**
 * The screenshot of coloured lines is renderer-only: hearthd strips escape sequences from
 * console lines it serves, so the real path above delivers them plain. The bridge client is
 * swapped for a stand-in `window.hearth` that answers the app's calls and feeds a console.
 */
const SCREENSHOT_HEARTH = `(() => {
  const sample = ${JSON.stringify([
    '\x1b[1;32m[  OK  ]\x1b[0m Started \x1b[1mOpenBSD Secure Shell server\x1b[0m.',
    '\x1b[1;31m[FAILED]\x1b[0m Failed to start \x1b[1mcloud-init-local.service\x1b[0m.',
    '\x1b[33mwarning:\x1b[0m disk /dev/vdb has no partition table',
    '\x1b[36mgit\x1b[0m clone \x1b[4mhttps://example.com/acme/web.git\x1b[0m /workspace',
    '\x1b[38;5;208mnpm\x1b[0m \x1b[2mWARN\x1b[0m deprecated inflight@1.0.6',
    '\x1b[38;2;120;180;255mtruecolor\x1b[0m \x1b[35mmagenta\x1b[0m \x1b[34mblue\x1b[0m \x1b[7minverse\x1b[0m plain',
  ])};
  const listeners = new Map();
  const emit = (name, payload) => (listeners.get(name) || new Set()).forEach((l) => l(payload));
  const status = { state: 'connected', message: 'Connected', socket: '/run/hearth/hearthd.sock', bundledVersion: '0.1.0', upgradeAvailable: false, since: Date.now() };
  const answers = { getConnection: status, getInstallRun: null, getAppInfo: { version: '0.1.0', shell: 'browser', autostart: false, trayAvailable: false }, subscribe: { id: 'sub-1' } };
  window.hearth = Object.freeze({
    invoke(name) {
      if (name === 'subscribe') setTimeout(() => {
        const lines = [];
        for (let i = 0; i < 400; i += 1) lines.push(sample[i % sample.length] + ' #' + i);
        emit('subscription', { id: 'sub-1', topic: 'logs', kind: 'item', item: { type: 'lines', lines } });
      }, 50);
      if (name in answers) return Promise.resolve({ ok: true, value: answers[name] });
      return Promise.resolve({ ok: false, error: { source: 'ipc', code: 'unavailable', message: 'screenshot stand-in' } });
    },
    on(name, listener) {
      const set = listeners.get(name) || new Set();
      listeners.set(name, set);
      set.add(listener);
      return () => set.delete(listener);
    },
  });
})();`;

async function colouredScreenshots(browser: Browser, url: string): Promise<void> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
  await page.route('**/hearth-bridge.js', (route) =>
    route.fulfill({ contentType: 'text/javascript', body: SCREENSHOT_HEARTH }),
  );
  await page.goto(`${new URL(url).origin}/#/environments/web/console`);
  // The page's CSP forbids eval: wait with a locator, not a function.
  await page.locator('[data-testid="log-viewer"][data-lines="400"]').waitFor();
  await page.getByLabel('Search log').fill('failed');
  await page.waitForSelector('mark.log-hit');
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: await artifactPath(`logviewer-colours-${scheme}.png`) });
  }
  await page.close();
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
    const consoleFile = join(paths.stateDir, 'environments', id, 'console.log');
    await appendFile(consoleFile, colouredLine(0));
    let written = 1;

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await openRoute(page, dev.url, '#/');
    await page.waitForSelector('.topbar');
    const navigated = performance.now();
    await page.evaluate((hash) => (location.hash = hash), `#/environments/${id}/console`);
    await page.waitForSelector('[data-testid="log-scroll"] .log-row');
    const firstRender = performance.now() - navigated;
    console.log(`time to first render: ${ms(firstRender)}`);
    await installFrameMeter(page);

    // 1M lines, in bursts the follower keeps up with: the next burst waits until the viewer has
    // nearly caught up, so nothing depends on hearthd holding a backlog.
    const loadStart = performance.now();
    while (written < TOTAL) {
      const count = Math.min(BURST, TOTAL - written);
      await appendFile(consoleFile, lines(written, count));
      written += count;
      await waitForLines(page, written - BURST, 60_000);
    }
    const held = await waitForLines(page, written, 60_000);
    const loadSeconds = (performance.now() - loadStart) / 1000;
    console.log(
      `loaded ${held.toLocaleString('en')} of ${written.toLocaleString('en')} lines in ${loadSeconds.toFixed(1)} s ` +
        `(${(written / loadSeconds).toFixed(0)} lines/s through hearthd → main → IPC → renderer)`,
    );

    // Following at 5,000 lines/s for 5 s: 500 lines every 100 ms.
    await meterStart(page);
    for (let tick = 0; tick < 50; tick += 1) {
      const started = performance.now();
      await appendFile(consoleFile, lines(written, 500));
      written += 500;
      await sleep(Math.max(0, 100 - (performance.now() - started)));
    }
    await waitForLines(page, written, 30_000);
    const follow = await meterStop(page);
    const following = await page.getAttribute('[data-testid="log-viewer"]', 'data-following');
    console.log(
      `longest frame while following at 5,000 lines/s: ${ms(follow.max)} (${follow.frames} frames, following=${following})`,
    );

    // Searching the whole buffer: "l0004" matches 10,000 lines scattered over the first half.
    const search = page.getByLabel('Search log');
    await meterStart(page);
    const searchStart = performance.now();
    await search.fill('l0004');
    await page.waitForFunction(
      () => {
        const text = document.querySelector('[data-testid="log-match-count"]')?.textContent ?? '';
        return / of \d+$/.test(text);
      },
      undefined,
      { timeout: 120_000, polling: 50 },
    );
    const searchMs = performance.now() - searchStart;
    const searched = await meterStop(page);
    const counted = await page.textContent('[data-testid="log-match-count"]');
    console.log(
      `longest frame while searching ${written.toLocaleString('en')} lines: ${ms(searched.max)} ` +
        `(search took ${ms(searchMs)}, ${counted})`,
    );
    await search.fill('');

    // Scrolling from the top to the end in 1,500 steps, one per frame: every frame a fresh set of rows.
    await page.locator('[data-testid="log-scroll"]').focus();
    await page.keyboard.press('Home');
    await sleep(300);
    // BENCH_TRACE=1: a Chromium trace of the scroll (timeline, V8, GC) into the artifacts, to see
    // what the long frames hold; off by default (tracing costs frames itself).
    const trace = process.env.BENCH_TRACE === '1';
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
    const scrollStart = performance.now();
    await page.evaluate(`new Promise((resolve) => {
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
    const scrollMs = performance.now() - scrollStart;
    const scrolled = await meterStop(page);
    if (trace) await browser.stopTracing();
    console.log(
      `scrolled top → end in ${ms(scrollMs)}: ${scrolled.frames} frames, p99 ${ms(scrolled.p99)}, ` +
        `${scrolled.over50} over 50 ms, longest ${ms(scrolled.max)} (2 cores shared with other work)`,
    );

    const cdp = await page.context().newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = await cdp.send('Runtime.getHeapUsage');
    console.log(`JS heap used: ${(heap.usedSize / MIB).toFixed(1)} MiB (of ${(heap.totalSize / MIB).toFixed(1)} MiB)`);

    // 10 MB in 1 MB bursts (10,485 lines of ~100 bytes each), followed live.
    await page.keyboard.press('End');
    const before = await waitForLines(page, written, 10_000);
    const perBurst = Math.floor(MIB / colouredLine(written).length);
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
    const burstStart = performance.now();
    let bytes = 0;
    // Back to back, IN_FLIGHT bursts on their way at most: the next lands as soon as the viewer
    // holds the one IN_FLIGHT back, so what is measured is the follow path, not a writer's pause.
    // (A follower more than 4 MiB behind skips ahead; 3 MiB in flight stays inside that.)
    const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 3);
    for (let burst = 0; burst < 10; burst += 1) {
      if (burst >= IN_FLIGHT) await waitForLines(page, before + (burst - IN_FLIGHT + 1) * perBurst, 30_000);
      const text = lines(written, perBurst);
      bytes += Buffer.byteLength(text);
      await appendFile(consoleFile, text);
      written += perBurst;
    }
    let arrived = before;
    let all = true;
    try {
      arrived = await waitForLines(page, written, 60_000);
    } catch {
      all = false;
      arrived = await linesIn(page);
    }
    const burstSeconds = (performance.now() - burstStart) / 1000;
    if (trace) {
      const { profile } = await cdp.send('Profiler.stop');
      await writeFile(await artifactPath('logviewer-burst-renderer.cpuprofile'), JSON.stringify(profile));
    }
    if (inspector) {
      const profile = await new Promise<unknown>((r) => inspector.post('Profiler.stop', (_e, v) => r(v.profile)));
      await writeFile(await artifactPath('logviewer-burst-main.cpuprofile'), JSON.stringify(profile));
      inspector.disconnect();
    }
    console.log(
      `  burst CPU: ${cpuSince(cpuBefore, await cpuByRole())} (in ${(burstSeconds * 1000).toFixed(0)} ms, 2 cores)`,
    );
    if (trace) await browser.stopTracing();
    console.log(
      `10 MB in 1 MB bursts: ${(bytes / MIB / burstSeconds).toFixed(1)} MB/s, ` +
        `${(arrived - before).toLocaleString('en')} of ${(written - before).toLocaleString('en')} lines arrived ` +
        `(every line: ${all && arrived === written ? 'yes' : 'no'})`,
    );
    const dropped = await page.getAttribute('[data-testid="log-viewer"]', 'data-dropped');
    console.log(
      `viewer: ${arrived.toLocaleString('en')} lines reached it, ${dropped} dropped by its cap; page errors: ${errors.length}`,
    );
    for (const error of errors) console.log(`  page error: ${error}`);

    await page.emulateMedia({ colorScheme: 'light' });
    await page.screenshot({ path: await artifactPath('logviewer-1m-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: await artifactPath('logviewer-1m-dark.png') });

    await colouredScreenshots(browser, dev.url);
    console.log(`renderer initial JS gzip KB: ${(await initialJsGzipKB()).toFixed(1)}`);
    console.log(`longest frame ms while scrolling 1M lines: ${scrolled.max.toFixed(1)}`);
  } finally {
    await browser.close();
    await dev.close();
    await daemon.dispose();
    await rm(paths.dir, { recursive: true, force: true });
  }
}

await main();
