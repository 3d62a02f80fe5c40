import { readFile } from 'node:fs/promises';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HearthdProcess } from '../helper/test/support/hearthd-process.js';
import { shootAndCheck } from './support/axe.js';
import { cannotRunGuiSpec, startGuiStack, type GuiStack } from './support/gui-stack.js';
import { skipWhen } from '../helper/test/support/skip.js';

const skip = cannotRunGuiSpec('details');

/** A TCG boot of the test guest takes seconds; two shared cores can make it slower. */
const BOOT_MS = 90_000;
/** Linux's USER_HZ: the unit of utime and stime in /proc/<pid>/stat. */
const CLOCK_TICKS = 100;

/** utime + stime of a process, in clock ticks (fields 14 and 15, counted after the command's ')'). */
async function cpuTicks(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
async function vmRssBytes(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(text)?.[1]) * 1024;
}

/**
 * One environment's details page in Chromium against a real hearthd booting a real QEMU TCG VM:
 * the timeline is hearthd's event log, the figures are hearthd's /proc samples, and the test
 * reads the same /proc to check them. The bridge runs as a plain `hearth` member, who creates the
 * environment from the UI and so owns it. Run under the VM lock:
 * flock /tmp/hearth-vm.lock npx vitest run e2e/details.spec.ts
 */
describe('environment details against a real hearthd', skipWhen(skip), () => {
  let stack: GuiStack;
  let daemon: HearthdProcess;
  let page: Page;
  let id: string;

  const header = (): Locator => page.getByTestId('env-header');
  const waitForHeaderState = (state: string, timeout = BOOT_MS) =>
    page.locator(`[data-testid="env-header"][data-state="${state}"]`).waitFor({ timeout });
  /** The figures on the page now: hearthd's sample time, CPU % and RSS as the page holds them. */
  const shown = async () => {
    const resources = page.getByTestId('resources');
    return {
      sampledAt: await resources.getAttribute('data-sampled-at'),
      cpuPercent: Number(await page.getByTestId('cpu-value').getAttribute('data-percent')),
      rssBytes: Number(await page.getByTestId('memory-value').getAttribute('data-bytes')),
      cpuText: await page.getByTestId('cpu-value').textContent(),
      memoryText: await page.getByTestId('memory-value').textContent(),
    };
  };
  const vmmPid = async () => {
    const client = daemon.client();
    const env = await client.call('getEnvironment', { params: { id } });
    await client.close();
    expect(env.vmm?.pid).toBeTypeOf('number');
    return env.vmm!.pid!;
  };

  beforeAll(async () => {
    stack = await startGuiStack('hearth-details-');
    ({ daemon, page } = stack);
  }, 180_000);

  afterAll(async () => {
    // Unset when beforeAll failed: its own cleanup already ran.
    await (stack as GuiStack | undefined)?.dispose();
  });

  it('says so for an environment that does not exist', async () => {
    await page.evaluate(() => (location.hash = '#/environments/nope'));
    await page.getByTestId('env-not-found').waitFor({ timeout: 10_000 });
    await page.getByTestId('env-not-found').getByRole('link', { name: 'Back to environments' }).click();
    await page.getByTestId('empty-state').waitFor();
    expect(await page.getByTestId('capacity').count()).toBe(1);
  });

  it(
    'shows a running environment with live figures and capacity on the dashboard',
    { timeout: BOOT_MS + 30_000 },
    async () => {
      // From the UI, as the member: the member owns it and so may see and act on it.
      await page.getByTestId('empty-state').getByRole('button', { name: 'Create environment' }).click();
      const dialog = page.getByTestId('create-dialog');
      await dialog.getByLabel('Name').fill('box');
      await dialog.getByLabel('Class').selectOption('tiny');
      await dialog.getByRole('button', { name: 'Create', exact: true }).click();
      const row = page.locator('[data-env="box"]');
      await row.waitFor({ timeout: 10_000 });
      const client = daemon.client();
      const created = (await client.call('listEnvironments', {})).environments.find((e) => e.name === 'box')!;
      await client.close();
      expect(created.owner.uid).toBe(stack.bridge.member.uid);
      id = created.id;
      await page.locator('[data-env="box"][data-state="running"]').waitFor({ timeout: BOOT_MS });
      // The first stats event after ready brings figures (every 2 s).
      await row.getByTestId('cpu').locator('dd').filter({ hasText: /%$/ }).waitFor({ timeout: 10_000 });
      expect(await row.getByTestId('memory').locator('dd').textContent()).toMatch(/^\d+(\.\d+)? MiB$/);
      expect(await row.getByTestId('disk').locator('dd').textContent()).toMatch(/ \/ 2 GiB$/);
      expect(await page.getByTestId('capacity-running').textContent()).toMatch(/^1 of \d+$/);
      // tiny's 128 MiB plus the runner's 100 MiB overhead.
      expect(await page.getByTestId('capacity-memory').textContent()).toMatch(/^228 MiB of /);
      await shootAndCheck(page, 'details-dashboard-running');
    },
  );

  it('opens the details, whose timeline reaches ready', { timeout: 30_000 }, async () => {
    await page.getByRole('link', { name: 'box', exact: true }).click();
    await waitForHeaderState('running', 10_000);
    expect(page.url()).toContain(`#/environments/${id}`);
    const timeline = page.getByTestId('timeline');
    await timeline.locator('[data-event="ready"]').waitFor({ timeout: 10_000 });
    const events = await timeline.locator('li').evaluateAll((items) => items.map((i) => i.getAttribute('data-event')));
    expect(events[0]).toBe('created');
    expect(events).toContain('vmm-launched');
    expect(events.indexOf('vmm-launched')).toBeLessThan(events.indexOf('ready'));
    expect(await page.getByTestId('vmm').textContent()).toMatch(/qemu \S+ · pid \d+/);
    // The busybox test guest has no provisioning: the Access section says there is no network, not made-up values.
    expect(await page.getByTestId('access-no-network').textContent()).toContain('has no provisioning');
  });

  it('shows CPU and memory that move and agree with the VMM’s /proc', { timeout: 60_000 }, async () => {
    const pid = await vmmPid();
    expect(Number(await page.getByTestId('vmm-pid').textContent())).toBe(pid);
    await page.getByTestId('cpu-sparkline').waitFor({ timeout: 10_000 });

    // Over a window of samples: the page's figures as each arrives, with /proc's CPU ticks and
    // VmRSS read right after each showed.
    const samples: Awaited<ReturnType<typeof shown>>[] = [];
    const procAt: { ticks: number; at: number }[] = [];
    const t0 = Date.now();
    const rssChecks: { shown: number; proc: number }[] = [];
    while (Date.now() - t0 < 12_000) {
      const now = await shown();
      if (now.sampledAt && now.sampledAt !== samples.at(-1)?.sampledAt) {
        samples.push(now);
        procAt.push({ ticks: await cpuTicks(pid), at: Date.now() });
        rssChecks.push({ shown: now.rssBytes, proc: await vmRssBytes(pid) });
      }
      await page.waitForTimeout(250);
    }
    // Each sample covers the interval since the one before it. The first one seen may have been on
    // the page for up to an interval already (its successor's window then began before the loop),
    // so /proc is measured from the second one's arrival — seen within a poll of its sampling — to
    // the last's, and compared with the samples after the second: the same window.
    const first = procAt[1]!;
    const last = procAt.at(-1)!;
    const measuredPercent = ((last.ticks - first.ticks) / CLOCK_TICKS / ((last.at - first.at) / 1000)) * 100;

    expect(samples.length).toBeGreaterThanOrEqual(5);
    // Live: consecutive samples differ (CPU is a ratio over each window; it never repeats exactly).
    expect(new Set(samples.map((s) => `${s.cpuPercent}/${s.rssBytes}`)).size).toBeGreaterThan(1);
    for (const s of samples) {
      expect(s.cpuText).toMatch(/%$/);
      expect(s.memoryText).toMatch(/MiB$/);
    }
    // RSS: the page's figure against VmRSS read right after it showed, within ±25 %.
    for (const { shown: rss, proc } of rssChecks) expect(Math.abs(rss - proc) / proc).toBeLessThanOrEqual(0.25);
    // CPU: the mean of the page's samples against utime+stime over the same window. Loose: each
    // end is offset by the page's polling (up to 250 ms), and a TCG guest's load is bursty.
    // Weighted by each sample's own interval (hearthd's sampledAt): the intervals need not be equal.
    const covering = samples.slice(2).map((s, i) => ({
      percent: s.cpuPercent,
      ms: Date.parse(s.sampledAt!) - Date.parse(samples[i + 1]!.sampledAt!),
    }));
    const meanShown =
      covering.reduce((sum, c) => sum + c.percent * c.ms, 0) / covering.reduce((sum, c) => sum + c.ms, 0);
    console.log(
      `details e2e figures: VMM pid ${pid}; CPU shown mean ${meanShown.toFixed(1)} % vs /proc ${measuredPercent.toFixed(1)} % over ${samples.length} samples; ` +
        `RSS shown/proc ${rssChecks.map((c) => `${(c.shown / 2 ** 20).toFixed(1)}/${(c.proc / 2 ** 20).toFixed(1)}`).join(' ')} MiB`,
    );
    expect(Math.abs(meanShown - measuredPercent)).toBeLessThanOrEqual(Math.max(3, measuredPercent * 0.5));

    await shootAndCheck(page, 'details-running');
  });

  it('stops and starts from the details page', { timeout: 2 * BOOT_MS + 30_000 }, async () => {
    await header().getByRole('button', { name: 'Stop', exact: true }).click();
    await waitForHeaderState('stopped');
    expect(await page.getByTestId('cpu-value').textContent()).toBe('—');
    // No stats events for a stopped one, but its disk is still measured (asked for on the change).
    await page
      .getByTestId('disk-value')
      .filter({ hasText: / \/ 2 GiB$/ })
      .waitFor({ timeout: 5000 });
    await page.getByTestId('timeline').locator('[data-event="exited"]').waitFor({ timeout: 10_000 });
    await shootAndCheck(page, 'details-stopped');

    const consoleView = page.getByTestId('log-viewer').first();
    await consoleView.locator('.log-row', { hasText: 'HEARTH-DISK boot-count=1' }).waitFor({ timeout: 10_000 });
    await header().getByRole('button', { name: 'Start', exact: true }).click();
    // The console shows the second boot as the guest prints it, without a reload, and the disk
    // it counts on is the same one (its counter went on to 2).
    await consoleView.locator('.log-row', { hasText: 'HEARTH-DISK boot-count=2' }).waitFor({ timeout: BOOT_MS });
    expect(await consoleView.getAttribute('data-following')).toBe('true');
    await waitForHeaderState('running');
    await page.getByTestId('timeline').locator('[data-event="ready"]').nth(1).waitFor({ timeout: 10_000 });
    await page.getByTestId('cpu-value').filter({ hasText: /%$/ }).waitFor({ timeout: 10_000 });
    expect(stack.pageErrors).toEqual([]);
  });
});
