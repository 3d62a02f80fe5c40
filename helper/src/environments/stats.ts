import { readFile, stat } from 'node:fs/promises';
import type { EnvironmentStats } from '#protocol';
import type { Entry as EnvironmentEntry } from './entry.js';

/**
 * Clock ticks per second of /proc/<pid>/stat's utime and stime. Linux has reported USER_HZ = 100
 * to userspace on every architecture for decades (`getconf CLK_TCK`); Node cannot ask sysconf,
 * and running getconf would be a child process per daemon for a constant.
 */
const CLOCK_TICKS_PER_SECOND = 100;
/** Two readings closer than this give a meaningless ratio: the earlier figure stands. */
const MIN_WINDOW_MS = 200;
/** A first look at a VMM waits this long for a second reading, so its first figure is real. */
const FIRST_WINDOW_MS = 250;

interface CpuReading {
  ticks: number;
  at: number;
  percent: number;
}

/** utime + stime and the start time, from /proc/<pid>/stat; undefined when the process is gone. */
async function readStat(pid: number): Promise<{ ticks: number; startTime: number } | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  // The command name may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields 14, 15 and 22 of proc(5); fields[0] is field 3 (state).
  return { ticks: Number(fields[11]) + Number(fields[12]), startTime: Number(fields[19]) };
}

export async function readRssBytes(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kib = text && /^VmRSS:\s+(\d+) kB/m.exec(text)?.[1];
  return kib ? Number(kib) * 1024 : undefined;
}

/** Host bytes a file really takes (a qcow2 overlay is sparse and grows as the guest writes). */
async function allocatedBytes(file: string): Promise<number> {
  const info = await stat(file).catch(() => undefined);
  return info ? info.blocks * 512 : 0;
}

/**
 * Samples environments' VMMs from /proc. CPU is a ratio of two readings, so the sampler keeps
 * each VMM's last reading (by pid and start time: a reused pid starts afresh); whoever asks
 * (the endpoint or the periodic event) moves the window on.
 */
export class StatsSampler {
  private readonly last = new Map<string, CpuReading>();

  async sample(entry: EnvironmentEntry, now = Date.now): Promise<EnvironmentStats> {
    const { spec, status, runtime } = entry.record;
    const vmm = runtime ? await this.sampleVmm(runtime.pid, runtime.startTime, now) : null;
    return {
      id: spec.id,
      name: spec.name,
      owner: { uid: spec.owner.uid },
      state: status.state,
      sampledAt: new Date(now()).toISOString(),
      vmm,
      // Guest-reported memory needs a balloon device (virtio-balloon stats); hearthd gives none.
      memory: { configuredBytes: spec.resources.memoryMiB * 1024 * 1024, guestUsedBytes: null },
      disk: { allocatedBytes: await allocatedBytes(entry.layout.disk), sizeBytes: spec.resources.diskGiB * 1024 ** 3 },
    };
  }

  private async sampleVmm(pid: number, startTime: number, now: () => number): Promise<EnvironmentStats['vmm']> {
    const key = `${pid}:${startTime}`;
    let first = await readStat(pid);
    if (!first || (startTime !== 0 && first.startTime !== startTime)) return null;
    let previous = this.last.get(key);
    if (!previous) {
      previous = { ticks: first.ticks, at: now(), percent: 0 };
      await new Promise((r) => setTimeout(r, FIRST_WINDOW_MS));
      first = await readStat(pid);
      if (!first) return null;
    }
    const at = now();
    const rssBytes = await readRssBytes(pid);
    if (rssBytes === undefined) return null;
    let reading = previous;
    if (at - previous.at >= MIN_WINDOW_MS) {
      const cpuSeconds = (first.ticks - previous.ticks) / CLOCK_TICKS_PER_SECOND;
      reading = { ticks: first.ticks, at, percent: Math.max(0, (cpuSeconds / ((at - previous.at) / 1000)) * 100) };
      this.last.set(key, reading);
    }
    return { pid, cpuPercent: Math.round(reading.percent * 10) / 10, rssBytes };
  }

  /** Forgets VMMs no longer among `running` (keys as pid:startTime). */
  retain(running: Iterable<EnvironmentEntry>): void {
    const keep = new Set<string>();
    for (const entry of running)
      if (entry.record.runtime) keep.add(`${entry.record.runtime.pid}:${entry.record.runtime.startTime}`);
    for (const key of this.last.keys()) if (!keep.has(key)) this.last.delete(key);
  }
}

/** Figures of every environment whose VMM runs (sampled together), for the periodic event. */
export async function sampleRunning(
  sampler: StatsSampler,
  entries: Iterable<EnvironmentEntry>,
): Promise<EnvironmentStats[]> {
  const running = [...entries].filter((e) => e.record.runtime);
  sampler.retain(running);
  const all = await Promise.all(running.map((e) => sampler.sample(e)));
  return all.filter((s) => s.vmm !== null);
}
