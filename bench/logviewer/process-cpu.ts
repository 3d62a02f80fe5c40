/**
 * CPU time by role (renderer, the rest of Chromium, hearthd, the bench process itself): for a
 * breakdown of where a phase's time went. Linux /proc; clock ticks are 100 Hz.
 */
import { readdir, readFile } from 'node:fs/promises';

/**
 * CPU time (ms) so far of this process's descendants by role, and of the bench process itself
 * (the main-process logic and the bridge run in it, besides Playwright).
 */
export async function cpuByRole(): Promise<Record<string, number>> {
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

/** Each role's CPU time between two cpuByRole readings, as one line. */
export const cpuSince = (before: Record<string, number>, after: Record<string, number>): string =>
  Object.entries(after)
    .map(([role, t]) => `${role} ${(t - (before[role] ?? 0)).toFixed(0)} ms`)
    .join(', ');
